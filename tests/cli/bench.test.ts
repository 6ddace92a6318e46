// Proves: the scale benchmark runs in its quick mode (the reference lab and a generated 5 x 31 lab, one round), printing plan, floor and check with plan ÷ floor and the cost per VM for each lab, in wall and in CPU time, and the capped-heap plan process with its peak heap; that the floor declares exactly the resource types the reference plan records, count by count, refuses a recorded type it has no SDK class for, and that a type count differing between plan and floor is reported; it asserts no timing (benchmarks are not timed tests: bench/README.md has the figures).
import * as path from "path";
import { planStacks, type PlanResult } from "../../cli/plan";
import { floorGaps, runFloor, typeDifferences } from "../../bench/plan-floor";
import { REPO, referenceLab } from "../support/lab";
import { runAsync } from "../support/proc";

test("bench/plan-scale.ts --quick runs and reports every figure", async () => {
  const r = await runAsync([process.execPath, "--expose-gc", "--import", "tsx", path.join(REPO, "bench", "plan-scale.ts"), "--quick"], {
    cwd: REPO,
    timeout: 120_000,
  });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const row = (lab: string) =>
    new RegExp(
      `^\\| ${lab} \\| \\d+ \\| \\d+ \\| \\d+ \\| \\d+\\.\\d\\d \\| \\d+\\.\\d\\d–\\d+\\.\\d\\d \\| \\d+ \\| \\d+ \\| \\d+ \\| \\d+ \\|$`,
      "gm",
    );
  // One table of wall time, one of CPU time: a row per lab in each.
  expect(r.stdout).toMatch(/^wall time:$[^]*^CPU time of the process \(user \+ system, every thread\):$/m);
  expect(r.stdout.match(row("reference"))).toHaveLength(2);
  expect(r.stdout.match(row("5 segments, 31 VMs"))).toHaveLength(2);
  expect(r.stdout).toMatch(
    /^one plan process of 5 segments, 31 VMs with --max-old-space-size=256: \d+ ms wall, peak RSS \d+ MiB, peak heap used \d+ MiB, peak live heap \d+ MiB/m,
  );
}, 120_000);

describe("the floor declares what the plan declares", () => {
  let plan: PlanResult;
  beforeAll(async () => {
    plan = await planStacks({ dir: REPO, stacks: [] });
  }, 60_000);

  test("type by type, for the reference lab, with an SDK class for every custom type", async () => {
    expect(floorGaps(plan)).toEqual([]);
    const floor = await runFloor(plan, referenceLab().dmzStack!.stackPrefix);
    expect(typeDifferences(plan, floor)).toEqual([]);
    // What the plan records since VMs are declared: the floor must replay each of these.
    const types = new Set(plan.stacks.flatMap((s) => s.resources.map((r) => r.type)));
    for (const t of [
      "proxmoxve:index/vmLegacy:VmLegacy",
      "proxmoxve:download/file:File",
      "proxmoxve:hardware/mapping/pci:Pci",
      "proxmoxve:index/haresource:Haresource",
      "proxmoxve:index/harule:Harule",
      "proxmoxve:index/replication:Replication",
    ])
      expect(types).toContain(t);
  }, 60_000);

  test("a recorded type without an SDK class is refused, a count that differs is reported", async () => {
    const [first, ...rest] = plan.stacks;
    const stray = {
      ...first!.resources.find((r) => r.custom && r.type.startsWith("command:"))!,
      type: "x:index/new:New",
      name: "stray",
    };
    const widened: PlanResult = { ...plan, stacks: [{ ...first!, resources: [...first!.resources, stray] }, ...rest] };
    expect(floorGaps(widened)).toEqual([`x:index/new:New (${first!.stack}/stray)`]);
    await expect(runFloor(widened, referenceLab().dmzStack!.stackPrefix)).rejects.toThrow(
      /the floor has no SDK class for 1 recorded type: x:index\/new:New .*bench\/plan-floor\.ts/,
    );
    const floor = plan.stacks.map((s) => ({ stack: s.stack, resources: s.resources }));
    expect(typeDifferences(widened, floor)).toEqual(["x:index/new:New: plan 1, floor 0"]);
  }, 60_000);
});
