/**
 * Benchmark: firewall throughput through one router of the twin, with no ruleset against the
 * reference ruleset and a generated lab's largest ruleset, offloads on and off
 * (bench/fw-bench.ts says how it measures). Run as root, under the twin lock:
 *
 *   flock /tmp/npmtest.lock npx tsx bench/twin-throughput.ts [--rounds 5] [--seconds 5] [--lab DIR]
 *   flock /tmp/npmtest.lock npx tsx bench/twin-throughput.ts --quick
 *
 * `--lab DIR` takes the large ruleset from the lab in DIR (its largest segment's router);
 * without it, only the reference ruleset is measured. `--quick` runs one round of a few
 * hundred kilobytes per variant: it proves the bench works, its figures mean nothing.
 * Never asserted anywhere; prints Markdown tables (bench/README.md).
 */
import * as fs from "fs";
import { Twin } from "../tests/twin/twin";
import { CLIENT, formatReport, ROUTER, runFwBench, type RunLength } from "./fw-bench";
import { labRuleset, referenceRuleset, type BenchRuleset } from "./fw-rulesets";

interface Args {
  readonly rounds: number;
  readonly length: RunLength;
  readonly loads: number;
  readonly lab?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const known = new Set(["--rounds", "--seconds", "--lab", "--loads", "--quick"]);
  const unknown = argv.filter((a, i) => a.startsWith("--") && !known.has(a) && !known.has(argv[i - 1] ?? ""));
  if (unknown.length > 0) throw new Error(`unknown option ${unknown.join(", ")} (known: ${[...known].join(", ")})`);
  const quick = argv.includes("--quick");
  const num = (flag: string, fallback: number) => {
    const v = value(flag);
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} takes a whole number of at least 1, not ${v}`);
    return n;
  };
  const lab = value("--lab");
  return {
    rounds: quick ? 1 : num("--rounds", 5),
    length: quick ? { bytes: "512K" } : { seconds: num("--seconds", 5) },
    loads: quick ? 1 : num("--loads", 7),
    ...(lab ? { lab } : {}),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const twin = await Twin.start({ log });
  try {
    const seg = Object.values(twin.segments).find((s) => s.router.name === ROUTER)!;
    const taken = new Set([...twin.nodes.values()].map((n) => n.address));
    const rulesets: BenchRuleset[] = [
      referenceRuleset(fs.readFileSync(twin.planFile(`${seg.name}/router/nftables.conf`), "utf8"), ROUTER, twin.node(CLIENT).address),
      ...(args.lab ? [labRuleset("large lab", args.lab, { wan: seg.router.wan.iface, lan: seg.router.lan.iface, taken })] : []),
    ];
    const report = await runFwBench(twin, { ...args, rulesets, log });
    process.stdout.write(formatReport(report));
  } finally {
    await twin.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
