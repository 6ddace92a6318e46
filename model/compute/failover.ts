/**
 * Failover (N-1): for every node, where its HA VMs restart when it fails, and the replicas
 * that must already sit on those nodes for the restart to find its disks.
 *
 * A replica takes room on its target's datastore all the time, not only while a node is
 * down, so the replicas are one ledger across every failure scenario: the VMs of the node
 * planned first take their room first, and a later scenario sees it taken.
 */
import { own } from "../lab";
import { compareText } from "../order";
import type { Failover, NodeLoad, PlacedVm } from "./placement";

/** Load a failover has already moved onto a node. */
export interface ExtraLoad {
  vcpus: number;
  memoryMiB: number;
  storage: Record<string, number>;
}

/** Datastore -> GiB of replicas, per node. */
export type ReplicaLedger = Map<string, Record<string, number>>;

/** Why the VM's NICs cannot be plugged in on the node: a missing bridge, or a VLAN its bridge does not carry. */
export function networkMisfits(vm: Pick<PlacedVm, "networks" | "nics">, node: Pick<NodeLoad, "networks" | "vlans">): string[] {
  const why: string[] = [];
  const missing = vm.networks.filter((x) => !node.networks.includes(x));
  if (missing.length > 0) why.push(`no bridge into ${[...missing].sort().join(", ")}`);
  const vlans = new Set<string>();
  for (const n of vm.nics) {
    if (n.kind !== "bridge" || n.vlan === undefined || missing.includes(n.bridge)) continue;
    if (!(own(node.vlans, n.bridge) ?? []).includes(n.vlan)) vlans.add(`no VLAN ${n.vlan} on its ${n.bridge} bridge`);
  }
  return [...why, ...[...vlans].sort()];
}

/**
 * Why `vm` does not fit on a node with the given extra load (and, for its node-local ZFS
 * disks, the replicas the node already holds); empty when it fits. A replicated disk needs
 * room for its replica; a disk on shared storage needs only the datastore.
 */
export function misfits(vm: PlacedVm, node: NodeLoad, extra: ExtraLoad, replicas: Readonly<Record<string, number>> = {}): string[] {
  const why = networkMisfits(vm, node);
  if (vm.cores > node.cpuCores) why.push(`${node.cpuCores} cores (needs ${vm.cores})`);
  const vcpus = node.vcpuLimit - node.usedVcpus - extra.vcpus;
  if (vcpus < vm.cores) why.push(`${Math.max(vcpus, 0)} vCPUs free (needs ${vm.cores})`);
  const mem = node.memoryMiB - node.usedMemoryMiB - extra.memoryMiB;
  if (mem < vm.memoryMiB) why.push(`${Math.max(mem, 0)} MiB free (needs ${vm.memoryMiB})`);
  for (const [ds, gib] of Object.entries(vm.disks)) {
    const cap = own(node.storageGiB, ds);
    if (cap === undefined) {
      why.push(`no datastore ${ds}`);
      continue;
    }
    const kind = vm.storage[ds];
    if (kind === "shared") continue;
    const used = (node.usedStorageGiB[ds] ?? 0) + (replicas[ds] ?? 0);
    const free = cap - used - (kind === "replicated" ? 0 : (extra.storage[ds] ?? 0));
    if (free >= gib) continue;
    why.push(
      kind === "replicated"
        ? `${Math.max(free, 0)} GiB free on ${ds} for its replica (needs ${gib})`
        : `${Math.max(free, 0)} GiB free on ${ds} (needs ${gib})`,
    );
  }
  return why;
}

const freeMemory = (n: NodeLoad, e: ExtraLoad) => n.memoryMiB - n.usedMemoryMiB - e.memoryMiB;

/**
 * Re-place the failed node's HA VMs on the survivors: largest memory first, each on the node
 * it names (failover:), else on the survivor with the most free memory that fits it. A
 * heuristic, so "stranded" means "no placement found", which is what an owner needs to know
 * before it happens. The replicas each move needs are added to `replicas`.
 */
export function planFailover(failed: string, nodes: readonly NodeLoad[], replicas: ReplicaLedger = new Map()): Failover {
  const victim = nodes.find((n) => n.node === failed)!;
  const survivors = nodes.filter((n) => n.node !== failed);
  const extra = new Map(survivors.map((n): [string, ExtraLoad] => [n.node, { vcpus: 0, memoryMiB: 0, storage: {} }]));
  const why = (vm: PlacedVm, n: NodeLoad) => misfits(vm, n, extra.get(n.node)!, replicas.get(n.node));
  const moves: { vm: string; to: string }[] = [];
  const stranded: string[] = [];
  const strandedWhy: Record<string, string[]> = {};
  const ha = victim.vms.filter((v) => v.ha).sort((a, b) => b.memoryMiB - a.memoryMiB || a.vmId - b.vmId);
  for (const vm of ha) {
    // A named failover node is the only one Proxmox may use (the HA rule is strict).
    const allowed = vm.failover !== undefined ? survivors.filter((n) => n.node === vm.failover) : survivors;
    const target = allowed
      .filter((n) => why(vm, n).length === 0)
      .sort((a, b) => freeMemory(b, extra.get(b.node)!) - freeMemory(a, extra.get(a.node)!) || compareText(a.node, b.node))[0];
    if (!target) {
      stranded.push(vm.name);
      // Recorded now: the survivors' load at this moment is what kept the VM out.
      strandedWhy[vm.name] =
        vm.failover !== undefined && allowed.length === 0
          ? [`${vm.failover}: not a surviving node`]
          : allowed.map((n) => `${n.node}: ${why(vm, n).join(", ")}`);
      continue;
    }
    const e = extra.get(target.node)!;
    e.vcpus += vm.cores;
    e.memoryMiB += vm.memoryMiB;
    const ledger = replicas.get(target.node) ?? {};
    for (const [ds, gib] of Object.entries(vm.disks)) {
      if (vm.storage[ds] === "replicated") ledger[ds] = (ledger[ds] ?? 0) + gib;
      else if (vm.storage[ds] !== "shared") e.storage[ds] = (e.storage[ds] ?? 0) + gib;
    }
    replicas.set(target.node, ledger);
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

/** Every node's failover, in node order, with the replicas they need between them. */
export function planFailovers(nodes: readonly NodeLoad[]): { failover: Failover[]; replicas: ReplicaLedger } {
  const replicas: ReplicaLedger = new Map();
  const failover = nodes.map((n) => planFailover(n.node, nodes, replicas));
  return { failover, replicas };
}
