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
 * Then one whole `plan` process of the largest lab under a reduced heap ceiling, to show it
 * stays inside the default heap. Figures are ratios and per-VM costs, never assertions.
 *
 *   node --expose-gc --import tsx bench/plan-scale.ts [--rounds 5] [--quick]
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
import { runFloor } from "./plan-floor";

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
  readonly plan: number[];
  readonly floor: number[];
  readonly check: number[];
}

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * The time `f` takes, from the same heap state every time: no lab read before (so a plan
 * reads cold, and no earlier lab's plan stays alive while a floor runs), and collected.
 */
async function timed(f: () => unknown): Promise<number> {
  forgetReadLabs();
  gc?.();
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e6;
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

/** A whole plan process of `dir` with the V8 heap capped at `heapMiB`: its wall time, or why it failed. */
function childPlan(dir: string, heapMiB: number): string {
  const t = Date.now();
  const r = spawnSync(
    process.execPath,
    [`--max-old-space-size=${heapMiB}`, "--import", "tsx", path.join(__dirname, "plan-scale.ts"), "--child", dir],
    {
      cwd: REPO,
      encoding: "utf8",
      timeout: 600_000,
    },
  );
  if (r.status !== 0) return `failed (exit ${r.status}): ${r.stderr.trim().split("\n").slice(-1)[0] ?? ""}`;
  const child = JSON.parse(r.stdout) as { maxRssMiB: number; heapUsedMiB: number };
  return `${Date.now() - t} ms wall, peak RSS ${child.maxRssMiB} MiB, heap used at the end ${child.heapUsedMiB} MiB`;
}

const ms = (x: number) => x.toFixed(0);
const us = (x: number) => (x * 1000).toFixed(0);

function report(labs: readonly Subject[], rounds: number): string {
  const lines = [
    `offline plan against its floor, ${rounds} interleaved round${rounds === 1 ? "" : "s"}, medians (ms; per VM in µs):`,
    "",
    "| lab | resources | plan | floor | plan ÷ floor | plan per VM | floor per VM | check | check per VM |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const l of labs) {
    const [p, f, c] = [median(l.plan), median(l.floor), median(l.check)];
    lines.push(
      `| ${l.name} | ${l.resources} | ${ms(p)} | ${ms(f)} | ${(p / f).toFixed(2)} | ${us(p / l.vms)} | ${us(f / l.vms)} | ${ms(c)} | ${us(c / l.vms)} |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  // As the CLI runs the plan (cli/main.ts): Pulumi captures a stack for every runtime promise.
  Error.stackTraceLimit = 0;
  const { values } = parseArgs({
    options: { rounds: { type: "string" }, quick: { type: "boolean", default: false }, child: { type: "string" } },
  });
  if (values.child !== undefined) {
    await planOnce(values.child);
    const out = {
      maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      heapUsedMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    };
    process.stdout.write(JSON.stringify(out));
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
      lab.resources = (await runFloor(lab.recorded, lab.prefix)).reduce((n, s) => n + s.resources.length, 0);
      checkOnce(lab.dir);
    }
    for (let r = 0; r < rounds; r++) await round(labs, r);
    process.stdout.write(`${report(labs, rounds)}\n\n`);
    const largest = labs[labs.length - 1]!;
    const limit = Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20);
    const capped = quick ? 256 : 512;
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
