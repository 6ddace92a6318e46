/**
 * Benchmark: how the offline plan and `check` scale with the lab. For the reference lab and
 * generated labs (bench/generate.ts) of 10 segments x 200 VMs and 50 x 2,000, it times
 *   - plan: every stack program under the mock runtime, from reading the files to the
 *     rendered files (cli/plan.ts planStacks), with no lab read before (a cold read);
 *   - floor: the same resources declared directly under the same mock runtime, without
 *     model, validation or rendering (bench/plan-floor.ts);
 *   - check: reading and validating the lab (model/check.ts checkLabDir), cold;
 * interleaved round by round in one process (plan and floor swap order every round), and
 * reports medians: plan ÷ floor, and the cost per VM at each size, which must not grow.
 * Then one whole `plan` process of the largest lab under a reduced heap ceiling, with its peak
 * heap (--trace-gc), to show it stays inside the default heap. Figures are ratios and per-VM costs, never assertions.
 *
 *   node --expose-gc --import tsx bench/plan-scale.ts [--rounds 5] [--cap 512] [--quick]
 *
 * The floor is checked first to declare what the plan records, type by type and count for
 * count: the run fails when it does not. --cap is the heap ceiling (MiB) of the last plan process.
 *
 * --quick (what CI runs, once, to prove it works): the reference lab and 5 x 31, one round.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import * as v8 from "v8";
import { planStacks, type PlanResult } from "../cli/plan";
import { checkLabDir, requireLab } from "../model/check";
import { forgetReadLabs } from "../model/load";
import { planLab } from "../model/plan";
import { generateLab, writeLab } from "./generate";
import { runFloor, typeDifferences } from "./plan-floor";

const REPO = path.resolve(__dirname, "..");

/** One lab under test. */
interface Subject {
  readonly name: string;
  readonly dir: string;
  readonly vms: number;
  /** The DMZ's stack prefix, which the floor's references are named by. */
  prefix?: string;
  recorded?: PlanResult;
  resources?: number;
  readonly plan: Timing[];
  readonly floor: Timing[];
  readonly check: Timing[];
}

/** One timed run: its wall time and the CPU time of the process meanwhile (every thread: the GC's helpers too), in ms. */
interface Timing {
  readonly wall: number;
  readonly cpu: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * The time `f` takes, from the same heap state every time: no lab read before (so a plan
 * reads cold, and no earlier lab's plan stays alive while a floor runs), and collected.
 */
async function timed(f: () => unknown): Promise<Timing> {
  forgetReadLabs();
  gc?.();
  const c = process.cpuUsage();
  const t = process.hrtime.bigint();
  await f();
  const wall = Number(process.hrtime.bigint() - t) / 1e6;
  const cpu = process.cpuUsage(c);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const planOnce = (dir: string) => planStacks({ dir, stacks: [] });
const checkOnce = (dir: string) => {
  const r = checkLabDir(dir);
  if (!r.lab) throw new Error(`bug: the lab in ${dir} does not check: ${r.problems.length} problems`);
};

function subjects(quick: boolean, tmp: string): Subject[] {
  const sizes = quick
    ? [{ segments: 5, vms: 31 }]
    : [
        { segments: 10, vms: 200 },
        { segments: 50, vms: 2000 },
      ];
  const ref: Subject = { name: "reference", dir: REPO, vms: planLab(requireLab(REPO)).vms.length, plan: [], floor: [], check: [] };
  return [
    ref,
    ...sizes.map((s) => {
      const dir = path.join(tmp, `${s.segments}x${s.vms}`);
      writeLab(generateLab(s), dir);
      return { name: `${s.segments} segments, ${s.vms} VMs`, dir, vms: s.vms, plan: [], floor: [], check: [] };
    }),
  ];
}

/** One round: every lab's plan, floor and check, plan and floor in the order of the round. */
async function round(labs: readonly Subject[], r: number): Promise<void> {
  for (const lab of labs) {
    const plan = async () => lab.plan.push(await timed(() => planOnce(lab.dir)));
    const floor = async () => lab.floor.push(await timed(() => runFloor(lab.recorded!, lab.prefix!)));
    if (r % 2 === 0) {
      await plan();
      await floor();
    } else {
      await floor();
      await plan();
    }
    lab.check.push(
      await timed(() => {
        checkOnce(lab.dir);
      }),
    );
  }
}

/** What --trace-gc prints for one collection: the heap used before and after it, in MB. */
const GC_LINE =
  /: (Scavenge|Minor Mark-Compact|Mark-Compact|Mark-Compact \(reduce\)|Mark-sweep)\s+([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/;

/**
 * The peak heap of a process, from its --trace-gc lines: the most heap used before a
 * collection (the peak, garbage included) and after a full one (the most that was live).
 */
function peakHeap(trace: string): { usedMiB: number; liveMiB: number } | undefined {
  let [used, live, seen] = [0, 0, false];
  for (const line of trace.split("\n")) {
    const m = GC_LINE.exec(line);
    if (!m) continue;
    seen = true;
    used = Math.max(used, Number(m[2]));
    if (!m[1]!.includes("Scavenge") && !m[1]!.startsWith("Minor")) live = Math.max(live, Number(m[4]));
  }
  // V8's MB are MiB (2^20 bytes).
  return seen ? { usedMiB: Math.round(used), liveMiB: Math.round(live) } : undefined;
}

/**
 * A whole plan process of `dir` with the V8 heap capped at `heapMiB`: its wall time, peak RSS
 * and peak heap (--trace-gc), or why it failed.
 */
function childPlan(dir: string, heapMiB: number): string {
  const t = Date.now();
  const r = spawnSync(
    process.execPath,
    [`--max-old-space-size=${heapMiB}`, "--trace-gc", "--import", "tsx", path.join(__dirname, "plan-scale.ts"), "--child", dir],
    {
      cwd: REPO,
      encoding: "utf8",
      timeout: 600_000,
      maxBuffer: 256 * 2 ** 20,
    },
  );
  if (r.status !== 0) return `failed (exit ${r.status}): ${r.stderr.trim().split("\n").slice(-1)[0] ?? ""}`;
  const child = JSON.parse(r.stderr.trim().split("\n").slice(-1)[0]!) as { maxRssMiB: number; heapUsedMiB: number };
  const peak = peakHeap(r.stdout);
  if (!peak) throw new Error("bug: the plan process printed no --trace-gc line");
  return `${Date.now() - t} ms wall, peak RSS ${child.maxRssMiB} MiB, peak heap used ${peak.usedMiB} MiB, peak live heap ${peak.liveMiB} MiB, heap used at the end ${child.heapUsedMiB} MiB`;
}

const ms = (x: number) => x.toFixed(0);
const us = (x: number) => (x * 1000).toFixed(0);

function report(labs: readonly Subject[], rounds: number): string {
  const lines = [`offline plan against its floor, ${rounds} interleaved round${rounds === 1 ? "" : "s"}, medians (ms; per VM in µs):`];
  for (const kind of ["wall", "cpu"] as const) {
    lines.push(
      "",
      kind === "wall" ? "wall time:" : "CPU time of the process (user + system, every thread):",
      "",
      "| lab | resources | plan | floor | plan ÷ floor | rounds' plan ÷ floor | plan per VM | floor per VM | check | check per VM |",
      "|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const l of labs) {
      const of = (xs: readonly Timing[]) => xs.map((x) => x[kind]);
      const [p, f, c] = [median(of(l.plan)), median(of(l.floor)), median(of(l.check))];
      // Each round's own ratio: how far the noise moves the figure.
      const each = l.plan.map((x, i) => x[kind] / l.floor[i]![kind]);
      const spread = `${Math.min(...each).toFixed(2)}–${Math.max(...each).toFixed(2)}`;
      lines.push(
        `| ${l.name} | ${l.resources} | ${ms(p)} | ${ms(f)} | ${(p / f).toFixed(2)} | ${spread} | ${us(p / l.vms)} | ${us(f / l.vms)} | ${ms(c)} | ${us(c / l.vms)} |`,
      );
    }
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  // As the CLI runs the plan (cli/main.ts): Pulumi captures a stack for every runtime promise.
  Error.stackTraceLimit = 0;
  const { values } = parseArgs({
    options: {
      rounds: { type: "string" },
      quick: { type: "boolean", default: false },
      cap: { type: "string" },
      child: { type: "string" },
    },
  });
  if (values.child !== undefined) {
    await planOnce(values.child);
    const out = {
      maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      heapUsedMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    };
    // On stderr: stdout carries the --trace-gc lines.
    process.stderr.write(`${JSON.stringify(out)}\n`);
    return;
  }
  const quick = values.quick;
  const rounds = quick ? 1 : Number(values.rounds ?? 5);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-plan-scale-"));
  try {
    const labs = subjects(quick, tmp);
    // Warm-up, not measured: module loading and JIT, and the recording the floor replays.
    for (const lab of labs) {
      lab.prefix = requireLab(lab.dir).dmzStack!.stackPrefix;
      lab.recorded = await planOnce(lab.dir);
      const floor = await runFloor(lab.recorded, lab.prefix);
      // The floor must declare what the plan declares, type by type, or plan ÷ floor means nothing.
      const differ = typeDifferences(lab.recorded, floor);
      if (differ.length > 0) throw new Error(`bug: the floor of ${lab.name} declares other resources than its plan: ${differ.join("; ")}`);
      lab.resources = floor.reduce((n, s) => n + s.resources.length, 0);
      checkOnce(lab.dir);
    }
    for (let r = 0; r < rounds; r++) await round(labs, r);
    process.stdout.write(`${report(labs, rounds)}\n\n`);
    const largest = labs[labs.length - 1]!;
    const limit = Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20);
    const capped = Number(values.cap ?? (quick ? 256 : 512));
    process.stdout.write(`default V8 heap limit here: ${limit} MiB\n`);
    process.stdout.write(`one plan process of ${largest.name} with --max-old-space-size=${capped}: ${childPlan(largest.dir, capped)}\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
