/**
 * Running programs from tests: one PATH, one runner (sync and async) that never throws and
 * always ends, `must` for steps that may not fail, and bounded polling.
 */
import { spawn, spawnSync } from "child_process";

/** The PATH every test program runs with: the system's directories only, never the caller's. */
export const PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** One process run, finished. `code` is null when it was killed (a timeout). */
export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** How to run: stdin, extra environment (over PATH_ENV and LANG=C), working directory, a bound in ms (default 20 s). */
export interface RunOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly timeout?: number;
}

const envOf = (opts: RunOptions): NodeJS.ProcessEnv => ({ PATH: PATH_ENV, LANG: "C", ...opts.env });

/** Run `cmd` to its end (bounded by `timeout`) and collect its output; never throws. A spawn error is appended to stderr. */
export function run(cmd: readonly string[], opts: RunOptions = {}): Run {
  const start = Date.now();
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    encoding: "utf8",
    input: opts.input ?? "",
    env: envOf(opts),
    cwd: opts.cwd,
    timeout: opts.timeout ?? 20000,
  });
  // @types/node says string, but a process that never started (ENOENT) leaves both null.
  const { stdout, stderr } = r as { stdout: string | null; stderr: string | null };
  return { code: r.status, stdout: stdout ?? "", stderr: `${stderr ?? ""}${r.error ? String(r.error) : ""}`, ms: Date.now() - start };
}

/** `run` without blocking: resolves when the process has ended (SIGKILLed at `timeout`); never rejects. */
export function runAsync(cmd: readonly string[], opts: RunOptions = {}): Promise<Run> {
  const start = Date.now();
  return new Promise((resolve) => {
    const p = spawn(cmd[0]!, cmd.slice(1), { env: envOf(opts), cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeout ?? 20000);
    p.on("error", (e) => (stderr += String(e)));
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - start });
    });
    // A command that exits without reading its input closes the pipe first: that EPIPE
    // says nothing the exit code does not, so it must not fail the test on its own.
    p.stdin.on("error", () => undefined);
    p.stdin.end(opts.input ?? "");
  });
}

/** `run` that must succeed: throws with the command, exit code and output; returns stdout. */
export function must(cmd: readonly string[], opts: RunOptions = {}): string {
  const r = run(cmd, opts);
  if (r.code !== 0) throw new Error(`${cmd.join(" ")} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Poll `check` (every `every` ms, default 50) until it holds; throws when `ms` pass first,
 * naming `what` and, if given, `detail()` (the last output seen, daemon logs). Returns the
 * time it took.
 */
export async function waitFor(
  what: string,
  ms: number,
  check: () => boolean | Promise<boolean>,
  opts: { every?: number; detail?: () => string } = {},
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start >= ms) throw new Error(`timed out after ${ms} ms waiting for ${what}${opts.detail ? `\n${opts.detail()}` : ""}`);
    await sleep(opts.every ?? 50);
  }
}
