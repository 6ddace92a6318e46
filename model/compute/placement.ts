/**
 * Placement: where VMs run, each node's load, and for every node, where its HA VMs go
 * when it fails (N-1). Computed once per lab; the capacity rules and the plan read it.
 */
import { type Lab, own, segmentList, type VmSpec } from "../lab";
import { compareText } from "../order";

/** Where VMs run, and whether HA VMs still fit when any one node fails. */
export interface Placement {
  readonly nodes: readonly NodeLoad[];
  /** One entry per node: what happens to its VMs when it fails. */
  readonly failover: readonly Failover[];
}

/** One NIC of a VM: on a bridge of its node (tagged with `vlan` on a VLAN-aware bridge), or a passed-through device. */
export type PlannedNic =
  { readonly kind: "bridge"; readonly bridge: string; readonly vlan?: number } | { readonly kind: "passthrough"; readonly device: string };

/** One VM on the Proxmox cluster. */
export interface PlacedVm {
  readonly name: string;
  readonly segment: string;
  readonly host: string;
  readonly vmId: number;
  readonly node: string;
  readonly cores: number;
  readonly memoryMiB: number;
  /** Datastore -> GiB. */
  readonly disks: Readonly<Record<string, number>>;
  readonly networks: readonly string[];
  /** The NICs in declaration order (the first carries the address), with their VLAN tags: what the Proxmox VM declares. */
  readonly nics: readonly PlannedNic[];
  /** PCI ids passed through (NICs and others). */
  readonly passthrough: readonly string[];
  readonly ha: boolean;
}

/** A node's load. */
export interface NodeLoad {
  readonly node: string;
  readonly cpuCores: number;
  readonly vcpuLimit: number;
  readonly memoryMiB: number;
  readonly storageGiB: Readonly<Record<string, number>>;
  readonly networks: readonly string[];
  readonly vms: readonly PlacedVm[];
  readonly usedVcpus: number;
  readonly usedMemoryMiB: number;
  readonly usedStorageGiB: Readonly<Record<string, number>>;
}

/** What happens when one node fails. */
export interface Failover {
  readonly failed: string;
  /** HA VMs and where they go. */
  readonly moves: readonly { readonly vm: string; readonly to: string }[];
  /** HA VMs that fit nowhere. */
  readonly stranded: readonly string[];
  /** For each stranded VM, why each survivor could not take it, at the moment it was placed. */
  readonly strandedWhy: Readonly<Record<string, readonly string[]>>;
  /** Pinned VMs that are down until the node returns. */
  readonly down: readonly string[];
}

/** The VMs of the lab, in VM-id order. */
export function labVms(lab: Lab): PlacedVm[] {
  return vmHosts(lab)
    .map(({ segment, host, name, vm }): PlacedVm => {
      const disks: Record<string, number> = {};
      for (const d of Object.values(vm.disks)) disks[d.datastore] = (disks[d.datastore] ?? 0) + d.sizeGiB;
      const nics = vm.nics.flatMap((n) => ("bridge" in n ? [] : [n.passthrough]));
      return {
        name,
        segment,
        host,
        vmId: vm.vmId,
        node: vm.node,
        cores: vm.cores,
        memoryMiB: vm.memoryMiB,
        disks,
        networks: [...new Set(vm.nics.flatMap((n) => ("bridge" in n ? [n.bridge] : [])))].sort(),
        nics: vm.nics.map((n): PlannedNic =>
          "bridge" in n
            ? { kind: "bridge", bridge: n.bridge, ...(n.vlan !== undefined ? { vlan: n.vlan } : {}) }
            : { kind: "passthrough", device: n.passthrough },
        ),
        passthrough: [...nics, ...vm.passthrough].sort(),
        ha: vm.ha && nics.length === 0 && vm.passthrough.length === 0,
      };
    })
    .sort((a, b) => a.vmId - b.vmId);
}

/** Every host of the lab that is a VM, with its VM name (`<segment>-<host>`, or `infra`). */
export function vmHosts(lab: Lab): { readonly segment: string; readonly host: string; readonly name: string; readonly vm: VmSpec }[] {
  const out = [{ segment: "dmz", host: "infra", name: "infra", vm: lab.dmz.infra.vm }];
  for (const seg of segmentList(lab)) {
    for (const [id, h] of Object.entries(seg.hosts))
      if (h.vm) out.push({ segment: seg.name, host: id, name: `${seg.name}-${id}`, vm: h.vm });
  }
  return out;
}

/** Per-node load, and for each node, where its HA VMs go when it fails. */
export function planPlacement(lab: Lab): Placement {
  const vms = labVms(lab);
  const { nodes: hw, cpuOvercommit } = lab.hardware.proxmox;
  const names = Object.keys(hw).sort();
  const load = (node: string, list: readonly PlacedVm[]): NodeLoad => {
    const n = hw[node]!;
    const mine = list.filter((v) => v.node === node);
    const usedStorageGiB: Record<string, number> = {};
    for (const v of mine) for (const [ds, gib] of Object.entries(v.disks)) usedStorageGiB[ds] = (usedStorageGiB[ds] ?? 0) + gib;
    return {
      node,
      cpuCores: n.cpuCores,
      vcpuLimit: Math.floor(n.cpuCores * cpuOvercommit),
      memoryMiB: (n.memoryGiB - n.reservedMemoryGiB) * 1024,
      storageGiB: n.storage,
      networks: [...n.networks].sort(),
      vms: mine,
      usedVcpus: mine.reduce((a, v) => a + v.cores, 0),
      usedMemoryMiB: mine.reduce((a, v) => a + v.memoryMiB, 0),
      usedStorageGiB,
    };
  };
  const nodes = names.map((n) => load(n, vms));
  const failover = names.map((failed) => planFailover(failed, nodes));
  return { nodes, failover };
}

/** Load a failover has already moved onto a node. */
export interface ExtraLoad {
  vcpus: number;
  memoryMiB: number;
  storage: Record<string, number>;
}

/** Why `vm` does not fit on a node with the given extra load; empty when it fits. */
export function misfits(vm: PlacedVm, node: NodeLoad, extra: ExtraLoad): string[] {
  const why: string[] = [];
  const missing = vm.networks.filter((x) => !node.networks.includes(x));
  if (missing.length > 0) why.push(`no bridge into ${[...missing].sort().join(", ")}`);
  if (vm.cores > node.cpuCores) why.push(`${node.cpuCores} cores (needs ${vm.cores})`);
  const vcpus = node.vcpuLimit - node.usedVcpus - extra.vcpus;
  if (vcpus < vm.cores) why.push(`${Math.max(vcpus, 0)} vCPUs free (needs ${vm.cores})`);
  const mem = node.memoryMiB - node.usedMemoryMiB - extra.memoryMiB;
  if (mem < vm.memoryMiB) why.push(`${Math.max(mem, 0)} MiB free (needs ${vm.memoryMiB})`);
  for (const [ds, gib] of Object.entries(vm.disks)) {
    const cap = own(node.storageGiB, ds);
    const free = cap === undefined ? 0 : cap - (node.usedStorageGiB[ds] ?? 0) - (extra.storage[ds] ?? 0);
    if (cap === undefined) why.push(`no datastore ${ds}`);
    else if (free < gib) why.push(`${Math.max(free, 0)} GiB free on ${ds} (needs ${gib})`);
  }
  return why;
}

/** True when `vm` fits on a node with the given load. */
export function fits(vm: PlacedVm, node: NodeLoad, extra: ExtraLoad): boolean {
  return misfits(vm, node, extra).length === 0;
}

/**
 * Re-place the failed node's HA VMs on the survivors: largest memory first, each on the
 * survivor with the most free memory that fits it. A heuristic, so "stranded" means
 * "no placement found", which is what an owner needs to know before it happens.
 */
export function planFailover(failed: string, nodes: readonly NodeLoad[]): Failover {
  const victim = nodes.find((n) => n.node === failed)!;
  const survivors = nodes.filter((n) => n.node !== failed);
  const extra = new Map(survivors.map((n): [string, ExtraLoad] => [n.node, { vcpus: 0, memoryMiB: 0, storage: {} }]));
  const moves: { vm: string; to: string }[] = [];
  const stranded: string[] = [];
  const strandedWhy: Record<string, string[]> = {};
  const ha = victim.vms.filter((v) => v.ha).sort((a, b) => b.memoryMiB - a.memoryMiB || a.vmId - b.vmId);
  for (const vm of ha) {
    const candidates = survivors
      .filter((n) => fits(vm, n, extra.get(n.node)!))
      .sort(
        (a, b) =>
          b.memoryMiB - b.usedMemoryMiB - extra.get(b.node)!.memoryMiB - (a.memoryMiB - a.usedMemoryMiB - extra.get(a.node)!.memoryMiB) ||
          compareText(a.node, b.node),
      );
    const target = candidates[0];
    if (!target) {
      stranded.push(vm.name);
      // Recorded now: the survivors' load at this moment is what kept the VM out.
      strandedWhy[vm.name] = survivors.map((n) => `${n.node}: ${misfits(vm, n, extra.get(n.node)!).join(", ")}`);
      continue;
    }
    const e = extra.get(target.node)!;
    e.vcpus += vm.cores;
    e.memoryMiB += vm.memoryMiB;
    for (const [ds, gib] of Object.entries(vm.disks)) e.storage[ds] = (e.storage[ds] ?? 0) + gib;
    moves.push({ vm: vm.name, to: target.node });
  }
  return {
    failed,
    moves: moves.sort((a, b) => compareText(a.vm, b.vm)),
    stranded: stranded.sort(),
    strandedWhy,
    down: victim.vms
      .filter((v) => !v.ha)
      .map((v) => v.name)
      .sort(),
  };
}
