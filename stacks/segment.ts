/**
 * The program of every segment stack (internal, cluster, lab, sandbox, and any segment
 * added later): the parts the model gives the segment (stacks/parts), declared in order,
 * and their outputs. Nothing here depends on the segment's name.
 */
import { planLab } from "../model/plan";
import type { StackContext } from "./context";
import { OUTPUTS } from "./contracts";
import { readLabObjects } from "./proxmox-lab";
import { SEGMENT_PARTS, type Provided, type SegmentPart, type SegmentScope } from "./parts";

/** Plan what every part reads, once. */
export function segmentScope(ctx: StackContext): SegmentScope {
  const { lab } = ctx;
  const segment = lab.segments[ctx.stack];
  if (segment === undefined) throw new Error(`stack ${ctx.stack} is not a segment of this lab`);
  const planned = planLab(lab);
  return {
    ctx,
    lab,
    segment,
    planned,
    flows: planned.flows,
    plan: planned.segments[segment.name]!,
    access: planned.ssh,
    timeout: ctx.confirmTimeoutSeconds !== undefined ? { confirmTimeoutSeconds: ctx.confirmTimeoutSeconds } : {},
  };
}

/**
 * Declare every part that applies to the segment, in order, and return the stack outputs
 * in the order OUTPUTS lists them. Two parts providing one thing or exporting one output is a bug.
 */
export function declareParts(scope: SegmentScope, parts: readonly SegmentPart[] = SEGMENT_PARTS): Record<string, unknown> {
  let provided: Provided = {};
  const owners = new Map<string, string>();
  const outputs = new Map<string, unknown>();
  const claim = (what: string, part: string) => {
    const before = owners.get(what);
    if (before !== undefined) throw new Error(`segment parts ${before} and ${part} both provide ${what}`);
    owners.set(what, part);
  };
  for (const part of parts) {
    if (!part.applies(scope)) continue;
    const result = part.declare(scope, provided);
    for (const key of Object.keys(result.provides ?? {})) claim(`"${key}"`, part.id);
    provided = { ...provided, ...result.provides };
    for (const [name, value] of Object.entries(result.outputs ?? {})) {
      claim(`the stack output "${name}"`, part.id);
      outputs.set(name, value);
    }
  }
  const order: readonly string[] = Object.values(OUTPUTS);
  return Object.fromEntries([...outputs].sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)));
}

/**
 * Declare one segment's resources and return its stack outputs. The lab-wide Proxmox objects
 * its VMs name are read from their owner first, so a missing one fails the stack before any
 * resource is declared.
 */
export async function segmentStack(ctx: StackContext, parts: readonly SegmentPart[] = SEGMENT_PARTS): Promise<Record<string, unknown>> {
  const scope = segmentScope(ctx);
  await readLabObjects(scope.lab, scope.planned, scope.segment.name);
  return declareParts(scope, parts);
}
