/**
 * Benchmark: the offline plan of the reference lab (every stack under Pulumi's mock runtime)
 * with Node's default stack capture against `Error.stackTraceLimit = 0`, which the plan and
 * the test setup use (Pulumi captures a stack for every runtime promise; reference section 7).
 * Variants run interleaved in one process and the result is a ratio of medians, never an
 * absolute time: run it with `npx tsx bench/plan-speed.ts [rounds]`.
 */
import { planStacks } from "../cli/plan";
import * as path from "path";

const REPO = path.resolve(__dirname, "..");

async function once(limit: number): Promise<number> {
  Error.stackTraceLimit = limit;
  const t = process.hrtime.bigint();
  await planStacks({ dir: REPO, stacks: [] });
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const variants = { "stack traces (limit 10)": 10, "no stack traces (limit 0)": 0 };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  await once(0); // warm-up: module loading and JIT are not what is measured
  for (let r = 0; r < rounds; r++) {
    for (const [name, limit] of Object.entries(variants)) times[name]!.push(await once(limit));
  }
  const base = median(times["stack traces (limit 10)"]!);
  console.log(`offline plan of the reference lab, ${rounds} interleaved rounds, median per variant:`);
  for (const [name, xs] of Object.entries(times)) {
    console.log(`  ${name.padEnd(28)} ${(median(xs) / base).toFixed(2)}x of the default`);
  }
}

void main();
