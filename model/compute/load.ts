/**
 * Each node's load now and after each single-node failure, read from the one placement: what
 * `npm run plan` prints as its placement table. Nothing is planned again here.
 */
import { compareText } from "../order";
import type { Placement } from "./placement";

/** What a node carries: vCPUs and memory, against its limits. */
export interface Load {
  readonly vcpus: number;
  readonly vcpuLimit: number;
  readonly memoryMiB: number;
  readonly memoryLimitMiB: number;
}

/** One node's load now, and for every node that may fail, its load then (`down` when it is the one that failed). */
export interface NodeLoads {
  readonly node: string;
  readonly now: Load;
  /** Failed node -> this node's load while it is down. */
  readonly after: Readonly<Record<string, Load | "down">>;
}

/** Where one VM goes when its node fails. */
export interface VmFate {
  readonly vm: string;
  readonly node: string;
  /** `restarts` on `to`; `pinned` (down until its node returns); `stranded` (HA, but no other node can take it, or there is none). */
  readonly fate: { readonly kind: "restarts"; readonly to: string } | { readonly kind: "pinned" } | { readonly kind: "stranded" };
  /** Minutes between replications of its node-local disks to `to`, for a VM that restarts there from a replica. */
  readonly replicationMinutes?: number;
}

/** Every node's load now and after each other node fails, in node order. */
export function failureLoads(placement: Placement): NodeLoads[] {
  const vms = new Map(placement.nodes.flatMap((n) => n.vms).map((v) => [v.name, v]));
  return placement.nodes.map((n): NodeLoads => {
    const now: Load = { vcpus: n.usedVcpus, vcpuLimit: n.vcpuLimit, memoryMiB: n.usedMemoryMiB, memoryLimitMiB: n.memoryMiB };
    const after: Record<string, Load | "down"> = {};
    for (const f of placement.failover) {
      if (f.failed === n.node) {
        after[f.failed] = "down";
        continue;
      }
      const moved = f.moves.filter((m) => m.to === n.node).map((m) => vms.get(m.vm)!);
      after[f.failed] = {
        ...now,
        vcpus: now.vcpus + moved.reduce((a, v) => a + v.cores, 0),
        memoryMiB: now.memoryMiB + moved.reduce((a, v) => a + v.memoryMiB, 0),
      };
    }
    return { node: n.node, now, after };
  });
}

/** Where every VM goes when its node fails, in VM name order. */
export function vmFates(placement: Placement): VmFate[] {
  const ha = new Map(placement.ha.map((h) => [h.vm, h]));
  return placement.nodes
    .flatMap((n) => n.vms)
    .map((v): VmFate => {
      const plan = ha.get(v.name);
      if (!v.ha) return { vm: v.name, node: v.node, fate: { kind: "pinned" } };
      if (plan?.to === undefined) return { vm: v.name, node: v.node, fate: { kind: "stranded" } };
      return {
        vm: v.name,
        node: v.node,
        fate: { kind: "restarts", to: plan.to },
        ...(plan.replication ? { replicationMinutes: plan.replication.minutes } : {}),
      };
    })
    .sort((a, b) => compareText(a.vm, b.vm));
}
