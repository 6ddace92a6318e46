/**
 * Placement: where VMs run, each node's load, and for every node, where its HA VMs go
 * when it fails (N-1), with the replicas that make the move possible. Computed once per
 * lab; the capacity and HA rules, the plan and the docs read it.
 */
import { type Lab, own, segmentList, type VmSpec } from "../lab";
import { planFailovers } from "./failover";
import type { DatastoreType } from "./schema";

/** Where VMs run, and whether HA VMs still fit when any one node fails. */
export interface Placement {
  readonly nodes: readonly NodeLoad[];
  /** One entry per node: what happens to its VMs when it fails. */
  readonly failover: readonly Failover[];
  /** Every HA VM's failover node and replication, in VM-id order; none in a lab with one node. */
  readonly ha: readonly HaPlan[];
}

/** One NIC of a VM: on a bridge of its node (tagged with `vlan` on a VLAN-aware bridge), or a passed-through device. */
export type PlannedNic =
  { readonly kind: "bridge"; readonly bridge: string; readonly vlan?: number } | { readonly kind: "passthrough"; readonly device: string };

/**
 * How a VM's disks on one datastore survive their node failing: copied to the failover node by
 * storage replication (node-local ZFS), already there (shared storage), lost with the node
 * (other node-local storage), or unknown (a datastore hardware.proxmox.datastores does not declare).
 */
export type StorageKind = "replicated" | "shared" | "local" | "undeclared";

/** What a datastore of this type means for failover. */
export function storageKind(type: DatastoreType | undefined): StorageKind {
  switch (type) {
    case undefined:
      return "undeclared";
    case "zfspool":
      return "replicated";
    case "nfs":
    case "cifs":
    case "rbd":
    case "cephfs":
      return "shared";
    case "lvmthin":
    case "lvm":
    case "dir":
      return "local";
    default: {
      const unknown: never = type;
      throw new Error(`bug: datastore type ${String(unknown)}`);
    }
  }
}

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
  /** Datastore -> how its disks there survive the node failing. */
  readonly storage: Readonly<Record<string, StorageKind>>;
  readonly networks: readonly string[];
  /** The NICs in declaration order (the first carries the address), with their VLAN tags: what the Proxmox VM declares. */
  readonly nics: readonly PlannedNic[];
  /** PCI ids passed through (NICs and others). */
  readonly passthrough: readonly string[];
  readonly ha: boolean;
  /** The failover node the VM names, if it names one (else the planner picks). */
  readonly failover?: string;
  /** How often its node-local disks are replicated to its failover node, in minutes. */
  readonly replicationMinutes: number;
}

/** A node's load. */
export interface NodeLoad {
  readonly node: string;
  readonly cpuCores: number;
  readonly vcpuLimit: number;
  readonly memoryMiB: number;
  readonly storageGiB: Readonly<Record<string, number>>;
  readonly networks: readonly string[];
  /** Network -> the VLAN ids its bridge carries tagged. */
  readonly vlans: Readonly<Record<string, readonly number[]>>;
  readonly vms: readonly PlacedVm[];
  readonly usedVcpus: number;
  readonly usedMemoryMiB: number;
  /** Its own VMs' disks, by datastore. */
  readonly usedStorageGiB: Readonly<Record<string, number>>;
  /** The replicas it holds of other nodes' HA VMs, by datastore: room taken whether or not a node fails. */
  readonly replicaGiB: Readonly<Record<string, number>>;
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

/** One HA VM: where it restarts, and how its disks get there first. */
export interface HaPlan {
  readonly vm: string;
  readonly segment: string;
  readonly host: string;
  readonly vmId: number;
  readonly node: string;
  /** The node it restarts on when its own fails; absent when it fits nowhere (capacity.n-minus-1 refuses that). */
  readonly to?: string;
  /**
   * Storage replication of its node-local ZFS disks to `to`: every `minutes` (the recovery
   * point), as the Proxmox schedule `schedule`. Absent when every disk is on shared storage
   * (nothing to copy, nothing lost) or when it has no failover node.
   */
  readonly replication?: { readonly minutes: number; readonly schedule: string; readonly datastores: readonly string[] };
}

/** The Proxmox calendar event for "every `minutes`": `*\/15`, `0/2:00` (every two hours from midnight), `0:00` (daily). */
export function replicationSchedule(minutes: number): string {
  if (minutes < 60) return `*/${minutes}`;
  if (minutes < 1440) return `0/${minutes / 60}:00`;
  return "0:00";
}

/** The VMs of the lab, in VM-id order. */
export function labVms(lab: Lab): PlacedVm[] {
  const { datastores, replicationMinutes } = lab.hardware.proxmox;
  return vmHosts(lab)
    .map(({ segment, host, name, vm }): PlacedVm => {
      const disks: Record<string, number> = {};
      const storage: Record<string, StorageKind> = {};
      for (const d of Object.values(vm.disks)) {
        disks[d.datastore] = (disks[d.datastore] ?? 0) + d.sizeGiB;
        storage[d.datastore] = storageKind(own(datastores, d.datastore)?.type);
      }
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
        storage,
        networks: [...new Set(vm.nics.flatMap((n) => ("bridge" in n ? [n.bridge] : [])))].sort(),
        nics: vm.nics.map((n): PlannedNic =>
          "bridge" in n
            ? { kind: "bridge", bridge: n.bridge, ...(n.vlan !== undefined ? { vlan: n.vlan } : {}) }
            : { kind: "passthrough", device: n.passthrough },
        ),
        passthrough: [...nics, ...vm.passthrough].sort(),
        ha: vm.ha && nics.length === 0 && vm.passthrough.length === 0,
        ...(vm.failover !== undefined ? { failover: vm.failover } : {}),
        replicationMinutes: vm.replicationMinutes ?? replicationMinutes,
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

/** Each node's own load, before any replica. */
function nodeLoads(lab: Lab, vms: readonly PlacedVm[]): NodeLoad[] {
  const { nodes: hw, cpuOvercommit } = lab.hardware.proxmox;
  return Object.keys(hw)
    .sort()
    .map((node): NodeLoad => {
      const n = hw[node]!;
      const mine = vms.filter((v) => v.node === node);
      const usedStorageGiB: Record<string, number> = {};
      for (const v of mine) for (const [ds, gib] of Object.entries(v.disks)) usedStorageGiB[ds] = (usedStorageGiB[ds] ?? 0) + gib;
      return {
        node,
        cpuCores: n.cpuCores,
        vcpuLimit: Math.floor(n.cpuCores * cpuOvercommit),
        memoryMiB: (n.memoryGiB - n.reservedMemoryGiB) * 1024,
        storageGiB: n.storage,
        networks: [...n.networks].sort(),
        vlans: n.vlans,
        vms: mine,
        usedVcpus: mine.reduce((a, v) => a + v.cores, 0),
        usedMemoryMiB: mine.reduce((a, v) => a + v.memoryMiB, 0),
        usedStorageGiB,
        replicaGiB: {},
      };
    });
}

/** Placements already planned, by lab: a lab is immutable once loaded (the rules and the plan both read it). */
const placed = new WeakMap<Lab, Placement>();

/** Per-node load, for each node where its HA VMs go when it fails, and each HA VM's replication; planned once per lab object. */
export function planPlacement(lab: Lab): Placement {
  let p = placed.get(lab);
  if (!p) placed.set(lab, (p = computePlacement(lab)));
  return p;
}

function computePlacement(lab: Lab): Placement {
  const vms = labVms(lab);
  const own = nodeLoads(lab, vms);
  const { failover, replicas } = planFailovers(own);
  const nodes = own.map((n) => ({ ...n, replicaGiB: replicas.get(n.node) ?? {} }));
  if (nodes.length < 2) return { nodes, failover, ha: [] };
  const target = new Map(failover.flatMap((f) => f.moves.map((m): [string, string] => [m.vm, m.to])));
  const ha = vms
    .filter((v) => v.ha)
    .map((v): HaPlan => {
      const to = target.get(v.name);
      const local = Object.keys(v.storage)
        .filter((ds) => v.storage[ds] === "replicated")
        .sort();
      return {
        vm: v.name,
        segment: v.segment,
        host: v.host,
        vmId: v.vmId,
        node: v.node,
        ...(to !== undefined ? { to } : {}),
        ...(to !== undefined && local.length > 0
          ? { replication: { minutes: v.replicationMinutes, schedule: replicationSchedule(v.replicationMinutes), datastores: local } }
          : {}),
      };
    });
  return { nodes, failover, ha };
}
