/**
 * Benchmark: firewall throughput through one router of the twin, with no ruleset against the
 * reference ruleset and the largest ruleset of a generated lab, offloads on and off
 * (bench/fw-bench.ts says how it measures, bench/fw-rulesets.ts which rulesets and flow).
 * Run as root, under the twin lock:
 *
 *   flock /tmp/npmtest.lock npx tsx bench/twin-throughput.ts [--rounds 5] [--seconds 3] [--loads 7]
 *       [--segments 50 --vms 2000 --seed 1 | --lab DIR]
 *   flock /tmp/npmtest.lock npx tsx bench/twin-throughput.ts --quick
 *
 * The large ruleset is the largest segment's router of the lab generated at that size
 * (bench/generate.ts), or of the lab in DIR. `--quick` runs one round of one second per
 * variant and counts every run: it proves the bench works (tests/twin/fw-bench.test.ts runs
 * it), its figures mean nothing. Never asserted anywhere; prints Markdown tables (bench/README.md).
 */
import { parseArgs } from "util";
import { Twin } from "../tests/twin/twin";
import { formatReport, runFwBench } from "./fw-bench";
import { benchRulesets, type LargeLab } from "./fw-rulesets";

interface Args {
  readonly rounds: number;
  readonly seconds: number;
  readonly loads: number;
  readonly quick: boolean;
  readonly large: LargeLab;
}

function whole(flag: string, v: string | undefined, fallback: number): number {
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} takes a whole number of at least 1, not ${v}`);
  return n;
}

function args(argv: string[]): Args {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      rounds: { type: "string" },
      seconds: { type: "string" },
      loads: { type: "string" },
      segments: { type: "string" },
      vms: { type: "string" },
      seed: { type: "string" },
      lab: { type: "string" },
      quick: { type: "boolean" },
    },
  });
  const large: LargeLab = v.lab
    ? { dir: v.lab }
    : { size: { segments: whole("segments", v.segments, 50), vms: whole("vms", v.vms, 2000), seed: whole("seed", v.seed, 1) } };
  if (v.quick) return { rounds: 1, seconds: 1, loads: 1, quick: true, large };
  return {
    rounds: whole("rounds", v.rounds, 5),
    seconds: whole("seconds", v.seconds, 3),
    loads: whole("loads", v.loads, 7),
    quick: false,
    large,
  };
}

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const twin = await Twin.start({ log });
  try {
    const report = await runFwBench(twin, { ...a, rulesets: benchRulesets(twin, a.large), log });
    process.stdout.write(formatReport(report));
  } finally {
    await twin.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
