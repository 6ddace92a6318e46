/** The real CLI, started as `npm run <command>` starts it: `tsx cli/main.ts <args>` with this node. */
import * as path from "path";
import { REPO } from "./lab";
import { run, runAsync, type Run, type RunOptions } from "./proc";

const TSX = path.join(REPO, "node_modules", "tsx", "dist", "cli.mjs");

/** Where (default: the repository root) and with which extra environment (over the test's own, NO_COLOR=1). */
export interface CliOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

const options = (opts: CliOptions): RunOptions => ({
  cwd: opts.cwd ?? REPO,
  env: { ...process.env, NO_COLOR: "1", ...opts.env },
  timeout: 60_000,
});
const argv = (args: readonly string[]) => [process.execPath, TSX, path.join(REPO, "cli", "main.ts"), ...args];

/** Run the CLI to its end (at most 60 s). */
export function runCli(args: readonly string[], opts: CliOptions = {}): Run {
  return run(argv(args), options(opts));
}

/** runCli without blocking, so several runs can share the cores. */
export function runCliAsync(args: readonly string[], opts: CliOptions = {}): Promise<Run> {
  return runAsync(argv(args), options(opts));
}
