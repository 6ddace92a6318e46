/**
 * The Proxmox objects the stacks declare besides VMs, planned from the lab and its placement:
 *
 * - lab-wide, owned by one stack (hardware.proxmox.owner): a PCI hardware mapping for every
 *   device of the inventory, and on Proxmox VE 8 one HA group per failover pair;
 * - per HA VM, in the stack that declares the VM: its HA resource, on Proxmox VE 9 its node
 *   affinity rule, and the storage replication of its node-local ZFS disks to its failover node.
 *
 * Why the rule is the VM's stack's and the group the owner's: an HA group exists before any
 * resource joins it (a resource names its group), so one stack can declare them all first;
 * a node-affinity rule lists HA resources that must already be HA-managed, and those follow
 * the VMs of every stack, so it can only come after them, in the same stack.
 *
 * Both the owner and its readers use this plan, so the names in the owner's contract and the
 * names a reader looks for cannot drift. Pure: no Pulumi.
 */
import { PROXMOX_CONTRACT_VERSION, type ProxmoxContract } from "../contracts";
import { type Lab, segmentList } from "../lab";
import { compareText } from "../order";
import { pciMappingName } from "./machine";
import type { HaPlan, Placement } from "./placement";

/** One PCI hardware mapping: one device of one node. */
export interface PciMappingPlan {
  /** The mapping's name (pciMappingName). */
  readonly name: string;
  readonly node: string;
  /** The device's id in the node's inventory. */
  readonly device: string;
  /** `vendor:device`. */
  readonly vendorDevice: string;
  /** The PCI address on the node. */
  readonly path: string;
  readonly iommuGroup: number;
  /** Subsystem `vendor:device`. */
  readonly subsystemId: string;
  readonly description: string;
}

/** A Proxmox VE 8 HA group: the home node first, then the failover node; only these may run its VMs. */
export interface HaGroupPlan {
  /** `ha-<home>-<failover>`. */
  readonly name: string;
  /** Node -> priority: the home node 2, the failover node 1 (the higher runs the VM). */
  readonly nodes: Readonly<Record<string, number>>;
}

/** What one HA VM's stack declares for it on the cluster. */
export interface HaVmPlan {
  readonly vm: string;
  readonly segment: string;
  readonly host: string;
  readonly vmId: number;
  /** The HA resource id, `vm:<id>`. */
  readonly resourceId: string;
  readonly node: string;
  readonly to: string;
  /** Proxmox VE 8: the HA group the resource joins. Proxmox VE 9: the node-affinity rule that binds it. */
  readonly affinity:
    | { readonly kind: "group"; readonly group: string }
    | { readonly kind: "rule"; readonly rule: string; readonly nodes: Readonly<Record<string, number>> };
  /** Storage replication of its node-local ZFS disks to its failover node; absent when every disk is on shared storage. */
  readonly replication?: { readonly id: string; readonly target: string; readonly schedule: string; readonly minutes: number };
}

/** What the owner stack declares lab-wide, and what its contract says. */
export interface LabObjectsPlan {
  /** The segment stack that declares them. */
  readonly owner: string;
  readonly cluster: string;
  readonly version: 8 | 9;
  /** Every device of every node's inventory, by mapping name. */
  readonly mappings: readonly PciMappingPlan[];
  /** Proxmox VE 8 only: one group per (home, failover) pair of the HA VMs; none on 9. */
  readonly haGroups: readonly HaGroupPlan[];
  /**
   * The cluster-wide firewall switch, on when any VM has the guest firewall (an untrusted
   * segment's): a guest's firewall does nothing while the datacenter's is off. Every policy stays
   * ACCEPT, so turning it on filters no node and no other guest; ebtables on for the MAC and ARP filters.
   */
  readonly clusterFirewall: boolean;
}

/** Node -> priority for a VM at home on `home` that fails over to `to`. */
function priorities(home: string, to: string): Record<string, number> {
  return { [home]: 2, [to]: 1 };
}

/** The lab-wide objects: the PCI mappings of the inventory and, on Proxmox VE 8, the HA groups. */
export function planLabObjects(lab: Lab, placement: Placement): LabObjectsPlan {
  const { owner, cluster, version, nodes } = lab.hardware.proxmox;
  const mappings = Object.keys(nodes)
    .sort()
    .flatMap((node) =>
      Object.entries(nodes[node]!.pci)
        .sort(([a], [b]) => compareText(a, b))
        .map(([device, d]): PciMappingPlan => ({
          name: pciMappingName(node, device),
          node,
          device,
          vendorDevice: d.vendorDevice,
          path: d.path,
          iommuGroup: d.iommuGroup,
          subsystemId: d.subsystemId,
          description: d.description,
        })),
    );
  const groups = new Map<string, HaGroupPlan>();
  if (version === 8)
    for (const h of placement.ha)
      if (h.to !== undefined) groups.set(groupName(h.node, h.to), { name: groupName(h.node, h.to), nodes: priorities(h.node, h.to) });
  // Exactly the VMs planMachine gives a guest firewall: a bridged NIC in an untrusted segment.
  const clusterFirewall = segmentList(lab).some(
    (seg) => seg.trust === "untrusted" && Object.values(seg.hosts).some((h) => h.vm?.nics.some((n) => "bridge" in n) ?? false),
  );
  return {
    owner,
    cluster,
    version,
    mappings,
    haGroups: [...groups.values()].sort((a, b) => compareText(a.name, b.name)),
    clusterFirewall,
  };
}

/** `ha-pve1-pve4`: the group of the VMs at home on pve1 that fail over to pve4. */
function groupName(home: string, to: string): string {
  return `ha-${home}-${to}`;
}

/**
 * A replication job's number (`<vmid>-<job>`): the target's place among the cluster's nodes. A
 * VM has one job per target, so a new failover node is a new job, made before the old one
 * is removed, and never a second job to the same node, which Proxmox refuses.
 */
function jobNumber(lab: Lab, target: string): number {
  return Object.keys(lab.hardware.proxmox.nodes).sort().indexOf(target);
}

/** What the stack `stack` declares for each of its HA VMs (the DMZ's infra host is the `dmz` stack's), in VM-id order. */
export function planHaVms(lab: Lab, placement: Placement, stack: string): HaVmPlan[] {
  return placement.ha
    .filter((h): h is HaPlan & { to: string } => h.segment === stack && h.to !== undefined)
    .map((h): HaVmPlan => ({
      vm: h.vm,
      segment: h.segment,
      host: h.host,
      vmId: h.vmId,
      resourceId: `vm:${h.vmId}`,
      node: h.node,
      to: h.to,
      affinity:
        lab.hardware.proxmox.version === 8
          ? { kind: "group", group: groupName(h.node, h.to) }
          : { kind: "rule", rule: `vm-${h.vmId}`, nodes: priorities(h.node, h.to) },
      ...(h.replication
        ? {
            replication: {
              id: `${h.vmId}-${jobNumber(lab, h.to)}`,
              target: h.to,
              schedule: h.replication.schedule,
              minutes: h.replication.minutes,
            },
          }
        : {}),
    }));
}

/** What the owner exports about the objects it declared: the contract every other stack reads. */
export function proxmoxContract(plan: LabObjectsPlan): ProxmoxContract {
  return {
    version: PROXMOX_CONTRACT_VERSION,
    owner: plan.owner,
    cluster: plan.cluster,
    pveVersion: plan.version,
    mappings: plan.mappings.map((m) => ({ name: m.name, node: m.node, device: m.device, vendorDevice: m.vendorDevice })),
    haGroups: plan.haGroups.map((g) => ({ name: g.name, nodes: { ...g.nodes } })),
  };
}
