/**
 * Planning: pure functions from a validated lab to what each box must do. The domains
 * plan their parts (network: hosts, flows, routers, SSH, the DMZ; compute: placement);
 * this file composes them into one segment's plan and into the planned lab: every planner
 * run once, into the one structure the stacks' contracts, the docs (pages/), `check`,
 * `plan` and `plan --diff` read instead of planning again.
 */
import { type BackupPlan, planBackups } from "./backup/plan";
import { planUserData, type UserDataPlan } from "./compute/cloud-init";
import { type Machine, planMachines } from "./compute/machine";
import { type PlacedVm, type Placement, planPlacement } from "./compute/placement";
import { type DataHostPlan, planDataHost } from "./data/plan";
import { type Lab, type Segment, segmentList } from "./lab";
import { Cidr } from "./net";
import { dmzHardware, infraHost, planDmz, publishSegment, type DmzPlan, type InfraHost, type PublishedSegment } from "./network/dmz";
import { type Flow, planFlows } from "./network/flows";
import { type PlannedHost, type PlannedService, planServices, segmentHosts } from "./network/hosts";
import { planRouter, type RouterPlan } from "./network/router";
import { planSshAccess, planSshPaths, type SshAccess, type SshBox } from "./network/ssh";
import { planTalosCluster, type TalosClusterPlan } from "./talos/plan";

/** The Talos API's port on every node (apid). */
const TALOS_API_PORT = 50000;
/** The Kubernetes API's port on the VIP. */
const KUBERNETES_API_PORT = 6443;

/** A segment's whole plan. */
export interface SegmentPlan {
  readonly name: string;
  readonly description: string;
  readonly trust: Segment["trust"];
  readonly subnet: Cidr;
  readonly router: RouterPlan;
  readonly jumpHost: PlannedHost;
  readonly hosts: readonly PlannedHost[];
  readonly services: readonly PlannedService[];
  /** Flows that start or end in this segment. */
  readonly flows: readonly Flow[];
  /** The segment's NixOS data host, when it has one. */
  readonly dataHost?: DataHostPlan;
  /**
   * The APIs of the segment's Talos cluster, when it has one: Talos's on every node, Kubernetes' at
   * the VIP. Deployment (the upgrade roll) reaches them through the jump host.
   */
  readonly clusterApis?: { readonly talos: readonly string[]; readonly kubernetes: string };
}

/** Plan one segment. */
export function planSegment(lab: Lab, seg: Segment, flows: readonly Flow[] = planFlows(lab)): SegmentPlan {
  const hosts = segmentHosts(lab, seg);
  const dataHost = planDataHost(lab, seg);
  return {
    name: seg.name,
    description: seg.description,
    trust: seg.trust,
    subnet: seg.subnet,
    router: planRouter(lab, seg, flows),
    jumpHost: hosts.find((h) => h.id === seg.jumpHost)!,
    hosts,
    services: planServices(lab, seg),
    flows: flows.filter((f) => f.from.zone === seg.name || f.to.zone === seg.name),
    ...(dataHost ? { dataHost } : {}),
    ...(seg.talos
      ? {
          clusterApis: {
            talos: [...seg.talos.controlPlanes, ...seg.talos.workers].map((h) => `${seg.hosts[h]!.address}:${TALOS_API_PORT}`),
            kubernetes: `${seg.talos.vip}:${KUBERNETES_API_PORT}`,
          },
        }
      : {}),
  };
}

/** The DMZ as the model plans it. */
export interface PlannedDmz {
  /** The infra host (DNS, NTP, reverse proxy). */
  readonly infra: InfraHost;
  /** Hardware whose management address lies in the DMZ, by address. */
  readonly hardware: readonly PlannedHost[];
  /**
   * What the segments the DMZ stack lists publish (every segment when the lab has no
   * Pulumi.dmz.yaml): what the deployed DMZ reads through its StackReferences.
   */
  readonly segments: readonly PublishedSegment[];
  /** The DMZ planned from `segments`, exactly as the deployed DMZ plans from the contracts it reads. */
  readonly plan: DmzPlan;
}

/** The whole lab, planned. Treat it as read-only: it is shared by everyone who plans the same lab. */
export interface PlannedLab {
  readonly domain: string;
  /** Every allowed flow of the lab. */
  readonly flows: readonly Flow[];
  /** Each segment's plan (router, hosts, services, its flows), by segment name, in name order. */
  readonly segments: Readonly<Record<string, SegmentPlan>>;
  /** Each segment's SSH paths: the boxes an admin logs in to, and through which jump host. */
  readonly sshPaths: Readonly<Record<string, readonly SshBox[]>>;
  /** What each segment publishes to the DMZ (its segment contract), by segment name. */
  readonly published: Readonly<Record<string, PublishedSegment>>;
  /** Where VMs run, and where HA VMs go when a node fails. */
  readonly placement: Placement;
  /** Every VM of the lab, in VM-id order. */
  readonly vms: readonly PlacedVm[];
  /** Every VM as Proxmox gets it (firmware, disks, NICs, PCI mappings, boot media), in VM-id order. */
  readonly machines: readonly Machine[];
  /** The cloud-init user data of every Debian and Ubuntu VM that reads it, in VM-id order. */
  readonly userData: readonly UserDataPlan[];
  /** Who may log in over SSH, from where. */
  readonly ssh: SshAccess;
  readonly dmz: PlannedDmz;
  /** Each segment's Talos cluster, by segment name, for the segments that have one. */
  readonly talos: Readonly<Record<string, TalosClusterPlan>>;
  /** The backup ledger: every stateful thing's backup, the Proxmox backup jobs, the dumps, the replications (not backups). */
  readonly backups: BackupPlan;
}

/** Plans already made, by lab: a lab is immutable once loaded, so its plan never changes. */
const planned = new WeakMap<Lab, PlannedLab>();

/**
 * Plan the whole lab; the same lab object is planned once per process. Call only on a lab
 * that passed validation.
 */
export function planLab(lab: Lab): PlannedLab {
  let plan = planned.get(lab);
  if (!plan) planned.set(lab, (plan = computeLab(lab)));
  return plan;
}

function computeLab(lab: Lab): PlannedLab {
  const flows = planFlows(lab);
  const segments: Record<string, SegmentPlan> = {};
  const sshPaths: Record<string, readonly SshBox[]> = {};
  const published: Record<string, PublishedSegment> = {};
  for (const seg of segmentList(lab)) {
    const plan = planSegment(lab, seg, flows);
    segments[seg.name] = plan;
    sshPaths[seg.name] = planSshPaths(plan);
    published[seg.name] = publishSegment(lab, seg.name, flows);
  }
  const placement = planPlacement(lab);
  const vms = placement.nodes.flatMap((n) => n.vms).sort((a, b) => a.vmId - b.vmId);
  const machines = planMachines(lab, vms);
  // The DMZ plans from the segments its stack file lists, as the deployed one does.
  const listed = lab.dmzStack?.segments ?? Object.keys(published);
  const dmzSegments = Object.values(published).filter((s) => listed.includes(s.name));
  const talos: Record<string, TalosClusterPlan> = {};
  for (const seg of segmentList(lab)) {
    const cluster = planTalosCluster(lab, seg, machines);
    if (cluster) talos[seg.name] = cluster;
  }
  return {
    domain: lab.domain,
    flows,
    segments,
    sshPaths,
    published,
    placement,
    vms,
    machines,
    userData: planUserData(lab, machines, placement.ha),
    ssh: planSshAccess(lab),
    dmz: { infra: infraHost(lab), hardware: dmzHardware(lab), segments: dmzSegments, plan: planDmz(lab, dmzSegments) },
    talos,
    backups: planBackups(lab, placement),
  };
}
