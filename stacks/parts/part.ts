/**
 * What a segment stack is made of: parts. Each part decides from the model alone whether
 * the segment has it (a router, a jump host, later Proxmox VMs, NixOS hosts, a Talos
 * cluster, a Kubernetes platform), never from the segment's name, and declares its
 * resources. stacks/segment.ts runs every part that applies; a new kind of resource is a
 * new part in stacks/parts/index.ts, not a branch in the dispatcher.
 */
import type * as pulumi from "@pulumi/pulumi";
import type * as px from "@muhlba91/pulumi-proxmoxve";
import type { ProxmoxVm } from "../../components/proxmox-vm";
import type { SshTarget } from "../../components/release";
import type { TalosCluster } from "../../components/talos-cluster";
import type { Lab, Segment } from "../../model/lab";
import type { Flow } from "../../model/network/flows";
import type { SshAccess } from "../../model/network/ssh";
import type { PlannedLab, SegmentPlan } from "../../model/plan";
import type { StackContext } from "../context";
import type { OUTPUTS } from "../contracts";

/** What every part of one segment stack reads: the lab, planned once. */
export interface SegmentScope {
  readonly ctx: StackContext;
  readonly lab: Lab;
  readonly segment: Segment;
  /** The whole lab, planned once (model/plan.ts planLab): every field below is taken from it. */
  readonly planned: PlannedLab;
  /** The lab's flows, planned once: the router, the contract and the docs all read them. */
  readonly flows: readonly Flow[];
  readonly plan: SegmentPlan;
  readonly access: SshAccess;
  /** `{ confirmTimeoutSeconds }` when the stack sets one, for every Release. */
  readonly timeout: { readonly confirmTimeoutSeconds?: number };
}

/**
 * What a part hands to the parts after it. Each field is provided by one part; a part
 * that reads one takes it with `need`, which names the provider when it is missing.
 */
export interface Provided {
  /** The segment's SSH entry (the jump host): how Pulumi reaches every box behind it. */
  readonly entry?: { readonly target: SshTarget; readonly resource: pulumi.Resource };
  /** The segment's Proxmox provider, for every resource the segment declares on the cluster. */
  readonly proxmox?: px.Provider;
  /** The lab-wide PCI mappings by name, in the stack that owns them: its VMs that name one wait for it. */
  readonly mappings?: Readonly<Record<string, pulumi.Resource>>;
  /** The segment's VMs by host id: a part that configures a host waits for its VM; HA resources name them. */
  readonly vms?: Readonly<Record<string, ProxmoxVm>>;
  /** The segment's Talos cluster: its per-node applies, health gate and kubeconfig. */
  readonly talos?: TalosCluster;
}

/** A stack output name (stacks/contracts.ts owns them). */
export type OutputName = (typeof OUTPUTS)[keyof typeof OUTPUTS];

/** What one part declared. */
export interface PartResult {
  readonly provides?: Provided;
  readonly outputs?: Partial<Record<OutputName, unknown>>;
}

/** One part of a segment stack. */
export interface SegmentPart {
  /** A stable id, for messages and tests. */
  readonly id: string;
  /** Whether this segment has the part, from the model only. */
  applies(scope: SegmentScope): boolean;
  /** Declare its resources; `provided` holds what the parts before it provided. */
  declare(scope: SegmentScope, provided: Provided): PartResult;
}

/** What a part needs from an earlier one; a missing one is a bug in the parts' order. */
export function need<T>(value: T | undefined, part: string, provider: string): T {
  if (value === undefined) {
    throw new Error(`segment part ${part} needs what part ${provider} provides; list ${provider} before it in stacks/parts/index.ts`);
  }
  return value;
}
