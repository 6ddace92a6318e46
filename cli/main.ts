/**
 * The offline tools, without a Pulumi engine or credentials: `check`, `plan` (and
 * `plan --diff`), `docs` and `maintenance`. A user's mistake prints a clear message and exits 1; only a
 * bug shows a stack trace.
 */
import * as path from "path";
import { ConfigError } from "../model/problems";
import { parseCli, UsageError } from "./args";
import { runCheck } from "./check";

/** HOMELAB_DEBUG=1 keeps full stack traces (for reporting a bug in the tools themselves). */
const DEBUG = process.env.HOMELAB_DEBUG !== undefined && process.env.HOMELAB_DEBUG !== "";

async function main(argv: readonly string[]): Promise<number> {
  // Pulumi captures a stack for every promise of its runtime: without them the mock runs of
  // plan and diff take about two thirds of the time (bench/plan-speed.ts).
  if (!DEBUG) Error.stackTraceLimit = 0;
  const opts = parseCli(argv, { dir: path.resolve(__dirname, "..") });
  const dir = path.resolve(opts.dir);
  switch (opts.command) {
    case "check": {
      const r = runCheck(dir, opts.json);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.code;
    }
    case "plan": {
      if (opts.diff !== undefined) {
        const { runPlanDiff } = await import("./diff");
        const r = await runPlanDiff({
          dir,
          ref: opts.diff,
          format: opts.markdown ? "markdown" : opts.json ? "json" : "text",
          exitCode: opts.exitCode,
        });
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        return r.code;
      }
      const { runPlan } = await import("./plan");
      return runPlan({ dir, out: path.resolve(opts.out ?? "out"), json: opts.json, stacks: opts.stacks });
    }
    case "docs": {
      const { runDocs } = await import("./docs");
      const r = runDocs({
        dir,
        out: path.resolve(opts.out ?? path.join(dir, "docs")),
        check: opts.check,
        ...(opts.source ? { source: opts.source } : {}),
      });
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.code;
    }
    case "bootstrap": {
      const { runBootstrap } = await import("./bootstrap");
      const r = runBootstrap({ dir, router: opts.router!, out: path.resolve(opts.out ?? path.join("out", "bootstrap")) });
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.code;
    }
    case "maintenance": {
      const { runMaintenance, runWeeklyPlan } = await import("./maintenance");
      const r = opts.weekly ? runWeeklyPlan({ dir }) : runMaintenance({ dir, node: opts.node!, script: opts.script });
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.code;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError || e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exitCode = e instanceof UsageError && e.message.startsWith("help") ? 0 : 1;
      return;
    }
    if (!DEBUG)
      process.stderr.write(
        "homelab: an internal error (a bug, not your configuration); run again with HOMELAB_DEBUG=1 for the stack trace\n",
      );
    throw e;
  },
);
