/**
 * The offline tools, without a Pulumi engine or credentials: `check` and `plan`.
 * A user's mistake prints a clear message and exits 1; only a bug shows a stack trace.
 */
import * as path from "path";
import { ConfigError } from "../model/problems";
import { parseCli, UsageError } from "./args";
import { runCheck } from "./check";

async function main(argv: readonly string[]): Promise<number> {
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
      const { runPlan } = await import("./plan");
      return runPlan({ dir, out: path.resolve(opts.out), json: opts.json, stacks: opts.stacks });
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
    throw e;
  },
);
