/**
 * One Proxmox node's planned maintenance: what taking it down for an update and a reboot does.
 * Read from the one placement (model/compute/placement.ts), never planned again: maintenance
 * mode moves each HA VM to the one other node its strict HA rule allows, its failover node,
 * which the placement already checked for bridges, VLANs, room and replicas. What differs from
 * a failure is how a VM gets there: a live migration (a pause at the switch-over), or, for a VM
 * Proxmox cannot live-migrate (an ISO of node-local storage still attached), a relocation (a
 * restart there). Pinned VMs (passthrough, or ha: false) stay and go down with the reboot.
 */
import { vmHosts, type Placement } from "../compute/placement";
import { own, segmentList, type Lab, type VmSpec } from "../lab";
import { compareText } from "../order";

/** A guest's boot time when neither it nor its image declares one, in seconds. */
export const DEFAULT_BOOT_SECONDS = 30;
/** A guest's clean shutdown when it declares none, in seconds. */
export const DEFAULT_SHUTDOWN_SECONDS = 10;

/** How long one VM's restarts take, from its facts. */
export interface GuestTimes {
  readonly bootSeconds: number;
  readonly shutdownSeconds: number;
}

/** One VM's facts as maintenance sees them. */
export interface MaintainedVm extends GuestTimes {
  readonly name: string;
  readonly vmId: number;
  readonly node: string;
  readonly critical: boolean;
  /** Its failover node (HA VMs that have one). */
  readonly to?: string;
  /** Why it cannot leave its node: `passthrough gpu0`, `ha: false`; absent for an HA VM. */
  readonly pinned?: string;
  /** An HA VM Proxmox cannot live-migrate, and why: it moves by a restart. */
  readonly noLiveMigration?: string;
}

/** An HA VM that leaves the node: live-migrated (a pause) or relocated (a restart), and brought back the same way. */
export interface Move {
  readonly vm: string;
  readonly vmId: number;
  readonly to: string;
  readonly how: "live-migration" | "relocation";
  /** Why it is relocated rather than live-migrated. */
  readonly why?: string;
  /** Seconds it is unavailable each way: the migration pause, or its shutdown plus boot. */
  readonly secondsEachWay: number;
  readonly critical: boolean;
}

/** A VM that stays on the node and is down while it reboots. */
export interface Outage {
  readonly vm: string;
  readonly vmId: number;
  /** Why it stays: `passthrough gpu0`, `ha: false`, or why its HA move fits nowhere. */
  readonly why: string;
  readonly shutdownSeconds: number;
  /** The node's reboot (the update itself runs while the VM still does). */
  readonly rebootSeconds: number;
  readonly bootSeconds: number;
  /** shutdown + reboot + boot. */
  readonly downSeconds: number;
  readonly critical: boolean;
}

/** Something that keeps working with less spare while the node is down. */
export interface LostRedundancy {
  /** What it is, `etcd of cluster`, `mirror hosts of lab`, `failover of internal-data`. */
  readonly what: string;
  /** In words: what is left and what one more failure would do. */
  readonly detail: string;
}

/** The plan of one node's maintenance. */
export interface NodeMaintenance {
  readonly node: string;
  /** Its management address, for the commands. */
  readonly address: string;
  readonly rebootSeconds: number;
  /** What a live migration pauses a VM, each way (hardware.proxmox.migrationPauseSeconds). */
  readonly migrationPauseSeconds: number;
  readonly moves: readonly Move[];
  readonly outages: readonly Outage[];
  /** Critical VMs that are unavailable at some point, with for how long (seconds). */
  readonly criticalDown: readonly { readonly vm: string; readonly seconds: number; readonly why: string }[];
  readonly redundancy: readonly LostRedundancy[];
}

/** A VM's boot and shutdown seconds: its own, else its image's boot, else the defaults. */
export function guestTimes(lab: Lab, vm: VmSpec): GuestTimes {
  const image = vm.image === undefined ? undefined : own(lab.hardware.proxmox.images, vm.image);
  return {
    bootSeconds: vm.bootSeconds ?? image?.bootSeconds ?? DEFAULT_BOOT_SECONDS,
    shutdownSeconds: vm.shutdownSeconds ?? DEFAULT_SHUTDOWN_SECONDS,
  };
}

/**
 * Whether a VM is critical: as it says, else by default the DMZ infra host (DNS, NTP and the
 * proxy for the whole lab) and a database host.
 */
export function isCritical(vm: VmSpec, segment: string, role: string | undefined): boolean {
  return vm.critical ?? (segment === "dmz" || role === "database");
}

/** Every VM of the lab with what maintenance needs to know, by name. */
export function maintainedVms(lab: Lab, placement: Placement): Map<string, MaintainedVm> {
  const placed = new Map(placement.nodes.flatMap((n) => n.vms).map((v) => [v.name, v]));
  const ha = new Map(placement.ha.map((h) => [h.vm, h]));
  const out = new Map<string, MaintainedVm>();
  for (const { segment, host, name, vm } of vmHosts(lab)) {
    const p = placed.get(name);
    if (!p) continue;
    const role = segment === "dmz" ? undefined : own(lab.segments, segment)?.hosts[host]?.role;
    const image = vm.image === undefined ? undefined : own(lab.hardware.proxmox.images, vm.image);
    const to = ha.get(name)?.to;
    out.set(name, {
      name,
      vmId: p.vmId,
      node: p.node,
      critical: isCritical(vm, segment, role),
      ...guestTimes(lab, vm),
      ...(to !== undefined ? { to } : {}),
      ...(p.ha ? {} : { pinned: p.passthrough.length > 0 ? `passthrough ${p.passthrough.join(", ")}` : "ha: false" }),
      ...(p.ha && image?.kind === "iso" && !vm.installed
        ? { noLiveMigration: `its ISO ${vm.image} is still attached (installed: false), and Proxmox does not live-migrate that` }
        : {}),
    });
  }
  return out;
}

/** What is left of a group some of whose members are down, in words; undefined when none is. */
function groupLoss(members: readonly string[], down: ReadonlySet<string>): { left: number; of: number; gone: string[] } | undefined {
  const gone = members.filter((m) => down.has(m)).sort(compareText);
  return gone.length === 0 ? undefined : { left: members.length - gone.length, of: members.length, gone };
}

/**
 * What loses its spare while `node` is down: an etcd cluster or a set of workers with members
 * on it, hosts of one role in a segment (two mirror caches) one of which is down, and HA VMs that
 * cannot fail over meanwhile (their failover node is the one down, or they moved to it and their
 * home is the one down).
 */
function lostRedundancy(lab: Lab, node: string, vms: ReadonlyMap<string, MaintainedVm>, down: ReadonlySet<string>): LostRedundancy[] {
  const out: LostRedundancy[] = [];
  for (const seg of segmentList(lab)) {
    const name = (h: string) => `${seg.name}-${h}`;
    if (seg.talos) {
      const cps = seg.talos.controlPlanes.map(name);
      const loss = groupLoss(cps, down);
      if (loss) {
        const quorum = Math.floor(loss.of / 2) + 1;
        const spare = loss.left - quorum;
        out.push({
          what: `etcd of ${seg.name}'s Talos cluster`,
          detail:
            spare >= 0
              ? `${loss.left} of ${loss.of} members up (${loss.gone.join(", ")} down): quorum holds, ${spare === 0 ? "but one more member lost stops the cluster's API" : `${spare} more may fail`}`
              : `${loss.left} of ${loss.of} members up (${loss.gone.join(", ")} down): quorum is lost, the cluster's API stops`,
        });
      }
      const workers = groupLoss(seg.talos.workers.map(name), down);
      if (workers)
        out.push({
          what: `workers of ${seg.name}'s Talos cluster`,
          detail: `${workers.left} of ${workers.of} up (${workers.gone.join(", ")} down): workloads run on the others, within their disruption budgets`,
        });
    }
    // Hosts of one role (not cluster nodes, already said) where some are down.
    const byRole = new Map<string, string[]>();
    for (const [id, h] of Object.entries(seg.hosts)) {
      if (h.role === "k8s-control-plane" || h.role === "k8s-worker" || h.role === "vip") continue;
      byRole.set(h.role, [...(byRole.get(h.role) ?? []), name(id)]);
    }
    for (const [role, members] of [...byRole].sort(([a], [b]) => compareText(a, b))) {
      if (members.length < 2) continue;
      const loss = groupLoss(members, down);
      if (loss)
        out.push({
          what: `${role} hosts of ${seg.name}`,
          detail: `${loss.left} of ${loss.of} up (${loss.gone.join(", ")} down)`,
        });
    }
  }
  // HA VMs that cannot restart elsewhere if their node fails during the maintenance.
  const unprotected = [...vms.values()]
    .filter((v) => v.pinned === undefined && v.to !== undefined && (v.to === node || v.node === node))
    .map((v) => v.name)
    .sort(compareText);
  if (unprotected.length > 0)
    out.push({
      what: "HA failover",
      detail: `${unprotected.join(", ")} cannot fail over meanwhile: each may run only on its home and its failover node, and one of the two is ${node}`,
    });
  return out;
}

/** Plan one node's maintenance; `node` must be a node of the lab (the CLI says which exist). */
export function planNodeMaintenance(lab: Lab, placement: Placement, node: string): NodeMaintenance {
  const hw = own(lab.hardware.proxmox.nodes, node);
  if (!hw) throw new Error(`bug: planNodeMaintenance of unknown node ${node}`);
  const vms = maintainedVms(lab, placement);
  const failover = placement.failover.find((f) => f.failed === node);
  const pause = lab.hardware.proxmox.migrationPauseSeconds;
  const moves: Move[] = (failover?.moves ?? []).map((m) => {
    const v = vms.get(m.vm)!;
    return v.noLiveMigration === undefined
      ? { vm: v.name, vmId: v.vmId, to: m.to, how: "live-migration", secondsEachWay: pause, critical: v.critical }
      : {
          vm: v.name,
          vmId: v.vmId,
          to: m.to,
          how: "relocation",
          why: v.noLiveMigration,
          secondsEachWay: v.shutdownSeconds + v.bootSeconds,
          critical: v.critical,
        };
  });
  const outage = (v: MaintainedVm, why: string): Outage => ({
    vm: v.name,
    vmId: v.vmId,
    why,
    shutdownSeconds: v.shutdownSeconds,
    rebootSeconds: hw.rebootSeconds,
    bootSeconds: v.bootSeconds,
    downSeconds: v.shutdownSeconds + hw.rebootSeconds + v.bootSeconds,
    critical: v.critical,
  });
  const stranded = new Map(Object.entries(failover?.strandedWhy ?? {}));
  const outages = [...vms.values()]
    .filter((v) => v.node === node && (v.pinned !== undefined || !moves.some((m) => m.vm === v.name)))
    .map((v) =>
      outage(
        v,
        v.pinned !== undefined
          ? `pinned (${v.pinned})`
          : `HA, but no node can take it (${(stranded.get(v.name) ?? ["the lab has one node"]).join("; ")})`,
      ),
    )
    .sort((a, b) => compareText(a.vm, b.vm));
  const criticalDown = [
    ...outages.filter((o) => o.critical).map((o) => ({ vm: o.vm, seconds: o.downSeconds, why: o.why })),
    ...moves
      .filter((m) => m.critical && m.how === "relocation")
      .map((m) => ({ vm: m.vm, seconds: 2 * m.secondsEachWay, why: `restarted twice to move (${m.why})` })),
  ].sort((a, b) => compareText(a.vm, b.vm));
  const down = new Set(outages.map((o) => o.vm));
  return {
    node,
    address: hw.address,
    rebootSeconds: hw.rebootSeconds,
    migrationPauseSeconds: pause,
    moves: [...moves].sort((a, b) => compareText(a.vm, b.vm)),
    outages,
    criticalDown,
    redundancy: lostRedundancy(lab, node, vms, down),
  };
}
