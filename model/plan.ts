/**
 * Planning: pure functions from a validated lab to what each box must do. The domains
 * plan their parts (network: hosts, flows, routers, SSH; compute: placement); this file
 * composes them into one segment's plan and the whole lab's.
 */
import { type Placement, planPlacement } from "./compute/placement";
import { type Lab, type Segment, segmentList } from "./lab";
import { Cidr } from "./net";
import { type Flow, planFlows } from "./network/flows";
import { type PlannedHost, type PlannedService, planServices, segmentHosts } from "./network/hosts";
import { planRouter, type RouterPlan } from "./network/router";

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
}

/** The whole lab's plan. */
export interface LabPlan {
  readonly domain: string;
  readonly segments: Readonly<Record<string, SegmentPlan>>;
  readonly flows: readonly Flow[];
  readonly placement: Placement;
}

/** Plan one segment. */
export function planSegment(lab: Lab, seg: Segment, flows: readonly Flow[] = planFlows(lab)): SegmentPlan {
  const hosts = segmentHosts(lab, seg);
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
  };
}

/** Plan the whole lab. Call only on a lab that passed validation. */
export function planLab(lab: Lab): LabPlan {
  const flows = planFlows(lab);
  const segments: Record<string, SegmentPlan> = {};
  for (const seg of segmentList(lab)) segments[seg.name] = planSegment(lab, seg, flows);
  return { domain: lab.domain, segments, flows, placement: planPlacement(lab) };
}
