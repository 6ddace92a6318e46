/** Picks the stack program by stack name. */
import * as pulumi from "@pulumi/pulumi";
import { DMZ_STACK } from "../model/lab";
import { ConfigError } from "../model/problems";
import { loadContext } from "./context";
import { dmzStack } from "./dmz";
import { segmentStack } from "./segment";

/**
 * Run the program of `stack` with the lab in `dir` and return its outputs. A user's
 * mistake becomes a RunError: Pulumi prints its message without a stack trace.
 */
export async function runProgram(
  stack: string,
  dir: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Record<string, unknown>> {
  try {
    const ctx = loadContext(stack, dir, env);
    return stack === DMZ_STACK ? await dmzStack(ctx) : await segmentStack(ctx);
  } catch (e) {
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}
