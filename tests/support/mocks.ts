/** Helpers for the mocks tier: run a stack program of the reference lab under the strict recorder. */
import { runUnderMocks, type MockRun, type StackOutputsByName } from "../../cli/mock-runtime";
import { PLACEHOLDER_KEY } from "../../cli/plan";
import { publishSegment } from "../../model/network/dmz";
import { CONFIG_KEYS } from "../../model/lab";
import { runProgram } from "../../stacks";
import { OUTPUTS, segmentContract } from "../../stacks/contracts";
import { referenceLab, REPO } from "./lab";

/** A deploy key the tests can search for: it must never appear in clear anywhere. */
export const TEST_KEY = `${PLACEHOLDER_KEY.trim()}\nTEST-SENTINEL-8c1f\n`;

/** Run one stack of the lab in `dir` (default: the reference lab). */
export function runStack(
  stack: string,
  opts: { dir?: string; preview?: boolean; references?: StackOutputsByName; deployKey?: string | null } = {},
): Promise<MockRun> {
  const key = opts.deployKey === undefined ? TEST_KEY : opts.deployKey;
  return runUnderMocks({
    stack,
    program: () => runProgram(stack, opts.dir ?? REPO),
    config: key === null ? {} : { [CONFIG_KEYS.deployKey]: key },
    secretKeys: key === null ? [] : [CONFIG_KEYS.deployKey],
    references: opts.references ?? {},
    preview: opts.preview ?? false,
  });
}

/**
 * The StackReferences the DMZ stack reads, as `organization/homelab/<segment>` -> outputs: each
 * segment's exported contract as the engine would return it (plain JSON).
 */
export function segmentReferences(
  segments: readonly string[] = ["cluster", "internal", "lab", "sandbox"],
): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    segments.map((s) => [
      `organization/homelab/${s}`,
      { [OUTPUTS.contract]: JSON.parse(JSON.stringify(segmentContract(publishSegment(referenceLab(), s)))) },
    ]),
  );
}
