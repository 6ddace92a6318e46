// Proves: the scale benchmark runs in its quick mode (the reference lab and a generated 5 x 31 lab, one round), printing plan, floor and check with plan ÷ floor and the cost per VM for each lab, and the capped-heap plan process; it asserts no timing (benchmarks are not timed tests: bench/README.md has the figures).
import * as path from "path";
import { REPO } from "../support/lab";
import { runAsync } from "../support/proc";

test("bench/plan-scale.ts --quick runs and reports every figure", async () => {
  const r = await runAsync([process.execPath, "--expose-gc", "--import", "tsx", path.join(REPO, "bench", "plan-scale.ts"), "--quick"], {
    cwd: REPO,
    timeout: 120_000,
  });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const row = (lab: string) =>
    new RegExp(`^\\| ${lab} \\| \\d+ \\| \\d+ \\| \\d+ \\| \\d+\\.\\d\\d \\| \\d+ \\| \\d+ \\| \\d+ \\| \\d+ \\|$`, "m");
  expect(r.stdout).toMatch(row("reference"));
  expect(r.stdout).toMatch(row("5 segments, 31 VMs"));
  expect(r.stdout).toMatch(/^one plan process of 5 segments, 31 VMs with --max-old-space-size=256: \d+ ms wall, peak RSS \d+ MiB/m);
}, 120_000);
