/**
 * Firewall throughput through one router of the twin (tests/twin/twin.ts): iperf3 from
 * internal/data to the edge's internet address, so every packet crosses internal-fw's
 * forward chain LAN -> WAN, with no ruleset at all against each ruleset of
 * bench/fw-rulesets.ts, offloads on and off (bench/fw-twin.ts).
 *
 * Variants are alternated within each round (the order rotates round by round), and every
 * figure is a median of per-round ratios to the no-ruleset run of the same round, never an
 * absolute rate. The client's CPU carries the client and the whole forward path, so a run
 * measures the path only when the client had that CPU to itself: on a machine whose other
 * work takes CPU from the bench (a shared VM), a run where the client got less than
 * CLEAN_SHARE of its CPU measured the other work instead. A variant's ratio comes from the
 * rounds where its run and the no-ruleset run were both clean; rounds go on until every
 * variant has as many clean pairs as rounds were asked for, or ATTEMPTS times that many
 * rounds have run, and the report says how many pairs each figure rests on. The quick mode
 * (one round of one second) counts every run: it proves the bench works, its figures mean
 * nothing.
 *
 * Before the runs, each ruleset's flow is traced (bench/fw-trace.ts) and each ruleset's load
 * time measured.
 */
import * as os from "os";
import { run } from "../tests/support/proc";
import { INTERNET, type Twin } from "../tests/twin/twin";
import { CLIENT, ROUTER, type BenchRuleset } from "./fw-rulesets";
import { loadTimes, median, traceFlow, type FlowTrace, type LoadTime } from "./fw-trace";
import { iperf, loadVariant, preparePath, setOffloads, type OffloadMode, type Path, type RunResult } from "./fw-twin";

export const OFFLOAD_MODES: readonly OffloadMode[] = ["on", "off"];

export interface FwBenchOptions {
  readonly rulesets: readonly BenchRuleset[];
  /** Clean rounds wanted per offload mode; each round runs every variant once. */
  readonly rounds: number;
  /** Seconds of each iperf3 run. */
  readonly seconds: number;
  /** Every run counts, clean or not. @default false */
  readonly quick?: boolean;
  /** How many times each ruleset is loaded for its load time. */
  readonly loads: number;
  readonly log?: (message: string) => void;
}

/** The median and range of per-round ratios to no ruleset; NaN when no round had the figure. */
export interface Ratio {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface VariantFigures {
  readonly mode: OffloadMode;
  /** `none` or a ruleset's name. */
  readonly variant: string;
  /** Every run, clean or not, in round order. */
  readonly runs: readonly RunResult[];
  /** Over the clean pairs: rounds where this variant's run and the no-ruleset run were both clean. */
  readonly throughput: Ratio;
  readonly medianGbps: number;
  /** Rounds run, and how many clean pairs the figures come from. */
  readonly rounds: number;
  readonly clean: number;
}

export interface FwBenchReport {
  readonly path: string;
  readonly rulesets: readonly Omit<BenchRuleset, "text">[];
  readonly figures: readonly VariantFigures[];
  readonly traces: readonly FlowTrace[];
  readonly loads: readonly LoadTime[];
  readonly machine: string;
  readonly rounds: number;
  readonly seconds: number;
  readonly quick: boolean;
}

/** A run is clean when the client got at least this much of its CPU. */
export const CLEAN_SHARE = 0.95;
/** At most this many times the rounds asked for are run, to get that many clean ones. */
const ATTEMPTS = 3;

function ratio(xs: readonly number[]): Ratio {
  return xs.length === 0 ? { median: NaN, min: NaN, max: NaN } : { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/** Whether a run measured the path: the client had its CPU (in the quick mode, every run counts). */
function cleanRun(r: RunResult, quick: boolean): boolean {
  return quick || (r.seconds > 0 && r.clientCpu / r.seconds >= CLEAN_SHARE);
}

/** One round: every variant once, in `order`. */
async function round(twin: Twin, p: Path, order: readonly string[], opts: FwBenchOptions, what: string): Promise<Map<string, RunResult>> {
  const source = (v: string) => opts.rulesets.find((r) => r.name === v)?.client ?? p.clientAddress;
  const runs = new Map<string, RunResult>();
  for (const v of order) {
    await loadVariant(twin, p, v);
    const r = await iperf(twin, p, source(v), { seconds: opts.seconds });
    runs.set(v, r);
    const cpu = `client ${r.clientCpu.toFixed(2)} s, softirq ${r.softirqCpu.toFixed(2)} s, server ${r.serverCpu.toFixed(2)} s`;
    opts.log?.(`${what}, ${v}: ${(r.bitsPerSecond / 1e9).toFixed(2)} Gbit/s in ${r.seconds.toFixed(1)} s; ${cpu}`);
  }
  return runs;
}

/**
 * One mode's rounds, the order rotated each round, until every variant has `opts.rounds`
 * clean pairs (its run and the no-ruleset run of the same round both clean) or the attempts
 * are spent.
 */
async function measureMode(twin: Twin, p: Path, mode: OffloadMode, opts: FwBenchOptions): Promise<VariantFigures[]> {
  const variants = ["none", ...opts.rulesets.map((r) => r.name)];
  const rounds: Map<string, RunResult>[] = [];
  const quick = opts.quick ?? false;
  const pairs = (v: string) => rounds.filter((r) => cleanRun(r.get(v)!, quick) && cleanRun(r.get("none")!, quick));
  const fewest = () => Math.min(...variants.map((v) => pairs(v).length));
  await setOffloads(twin, p, mode);
  while (fewest() < opts.rounds && rounds.length < ATTEMPTS * opts.rounds) {
    const n = rounds.length;
    const order = variants.map((_v, i) => variants[(i + n) % variants.length]!);
    rounds.push(await round(twin, p, order, opts, `offloads ${mode}, round ${n + 1} (${fewest()}/${opts.rounds} clean)`));
  }
  return variants.map((v) => {
    const clean = pairs(v);
    return {
      mode,
      variant: v,
      runs: rounds.map((r) => r.get(v)!),
      throughput: ratio(clean.map((r) => r.get(v)!.bitsPerSecond / r.get("none")!.bitsPerSecond)),
      medianGbps: median(clean.map((r) => r.get(v)!.bitsPerSecond / 1e9)),
      rounds: rounds.length,
      clean: clean.length,
    };
  });
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const tool = (argv: string[]) => run(argv).stdout.split("\n")[0]!.trim();
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, ${tool(["nft", "--version"])}, ${tool(["iperf3", "--version"])}`;
}

/** Run the whole bench on a running twin. Leaves the router with its rendered ruleset again, offloads off. */
export async function runFwBench(twin: Twin, opts: FwBenchOptions): Promise<FwBenchReport> {
  const p = await preparePath(twin, opts.rulesets);
  try {
    const traces: FlowTrace[] = [];
    for (const r of opts.rulesets) traces.push(await traceFlow(twin, p, r));
    opts.log?.(`traces: ${traces.map((t) => `${t.ruleset}: first packet ${t.first}, later ${t.later}`).join("; ")}`);
    const loads = await loadTimes(twin, p, opts.rulesets, opts.loads);
    opts.log?.(`load times: ${loads.map((l) => `${l.ruleset} ${l.medianMs} ms`).join(", ")}`);
    const all: VariantFigures[] = [];
    for (const mode of OFFLOAD_MODES) all.push(...(await measureMode(twin, p, mode, opts)));
    return {
      path: `TCP ${CLIENT} -> the internet (${INTERNET}) through ${ROUTER}, LAN -> WAN, masqueraded`,
      rulesets: opts.rulesets.map(({ text: _text, ...meta }) => meta),
      figures: all,
      traces,
      loads,
      machine: machine(),
      rounds: opts.rounds,
      seconds: opts.seconds,
      quick: opts.quick ?? false,
    };
  } finally {
    await twin.exec(p.router, ["nft", "-f", p.rendered]);
  }
}

const fmt = (x: number) => (Number.isNaN(x) ? "n/a" : x.toFixed(2));
const range = (r: Ratio) => `${fmt(r.median)} (${fmt(r.min)}–${fmt(r.max)})`;

/** The report as Markdown tables. */
export function formatReport(r: FwBenchReport): string {
  const clean = r.quick
    ? "every run counted (quick mode: these figures mean nothing)"
    : `over the rounds where both runs were clean (the client had at least ${CLEAN_SHARE * 100}% of its CPU)`;
  const lines = [
    `${r.path}; ${r.rounds} round(s) of ${r.seconds} s per variant, alternated; ratios are medians of per-round ratios to no ruleset (min–max), ${clean}.`,
    `Machine: ${r.machine}.`,
    "",
    "| offloads | ruleset | throughput ÷ none | median Gbit/s | clean pairs of rounds |",
    "|---|---|---|---|---|",
    ...r.figures.map((f) => `| ${f.mode} | ${f.variant} | ${range(f.throughput)} | ${fmt(f.medianGbps)} | ${f.clean} of ${f.rounds} |`),
    "",
    "| ruleset | router | lines | set elements | client | nft -f, median ms (runs) | first packet accepted by | later packets accepted by |",
    "|---|---|---|---|---|---|---|---|",
    ...r.rulesets.map((s) => {
      const t = r.traces.find((x) => x.ruleset === s.name)!;
      const l = r.loads.find((x) => x.ruleset === s.name)!;
      return `| ${s.name} | ${s.source} | ${s.lines} | ${s.elements} | ${s.client} | ${l.medianMs.toFixed(1)} (${l.ms.length}) | \`${t.first}\` | \`${t.later}\` |`;
    }),
  ];
  return `${lines.join("\n")}\n`;
}
