/**
 * `npm run docs`: render `docs/` from the stacks' `docs` outputs when a Pulumi CLI and the
 * deployed stacks are there (live), otherwise from the model (offline), and say which on
 * the index. `--check` compares what it would write with the docs directory and fails,
 * listing every stale file, when the committed docs differ.
 *
 * Live outputs are read with `pulumi stack output --json --show-secrets=false -s <stack>`
 * and checked with the same discipline as the DMZ's StackReference reader: every problem
 * of every stack in one list.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { requireLab } from "../model/check";
import { labStacks } from "../model/network/dmz";
import { canonicalJson, compareText } from "../model/order";
import { DMZ_STACK, type Lab } from "../model/lab";
import { count } from "../model/problems";
import { planLab } from "../model/plan";
import type { DmzDocs, DocsBundle, SegmentDocs } from "../pages/contract";
import { docsOfLab } from "../pages/contract-dmz";
import type { DocsSource } from "../pages/context";
import { renderDocs } from "../pages/docs";
import { DOCS_MARKERS } from "../pages/markdown";
import type { TextFile } from "../render/files";
import { OUTPUTS, readDocsContract } from "../stacks/contracts";

/** Where the docs come from: `auto` is live when possible, else offline. */
export type DocsSourceOption = "auto" | "live" | "offline";

/** Options of a docs run. */
export interface DocsOptions {
  /** The lab directory. */
  readonly dir: string;
  /** The docs directory. */
  readonly out: string;
  /** Compare instead of writing. */
  readonly check: boolean;
  /**
   * Where the docs come from. @default "auto" when writing; "offline" with `check`, because
   * the committed docs describe this commit's model and CI (no Pulumi CLI) must reproduce them.
   */
  readonly source?: DocsSourceOption;
  /** The environment the `pulumi` CLI is looked up (PATH) and run in. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** What a docs run prints and its exit code. */
export interface DocsRun {
  readonly code: 0 | 1;
  readonly stdout: string;
  readonly stderr: string;
}

/** The outcome of reading every stack's live docs. */
export type LiveDocs =
  | { readonly ok: true; readonly bundle: DocsBundle; readonly stacks: readonly string[] }
  | {
      readonly ok: false;
      /** One line: why the live docs cannot be used. */
      readonly reason: string;
      readonly problems: readonly string[];
      /** Nothing live to read at all (no CLI, no stack): falling back to the model is the expected case. */
      readonly absent: boolean;
    };

/** An executable named `name` on the PATH of `env`. */
function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    try {
      if (fs.statSync(candidate).isFile()) {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      }
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Read and check every stack's `docs` output through the Pulumi CLI. */
function readLiveDocs(lab: Lab, dir: string, env: NodeJS.ProcessEnv): LiveDocs {
  const pulumi = findOnPath("pulumi", env);
  if (!pulumi)
    return {
      ok: false,
      absent: true,
      reason: "no pulumi CLI on PATH",
      problems: ["no pulumi CLI on PATH. Fix: install it, or use --source offline"],
    };
  if (!lab.dmzStack) {
    const reason = "the lab has no Pulumi.dmz.yaml, so its stacks' names (homelab:dmz.stackPrefix) are unknown";
    return { ok: false, absent: true, reason, problems: [reason] };
  }
  const problems: string[] = [];
  const segments: SegmentDocs[] = [];
  let dmz: DmzDocs | undefined;
  let missing = 0;
  // Every segment and the DMZ, by their full names.
  const stacks = labStacks(lab);
  for (const { stack, full } of stacks) {
    const r = spawnSync(pulumi, ["stack", "output", "--json", "--show-secrets=false", "-s", full], {
      cwd: dir,
      env,
      encoding: "utf8",
      timeout: 120_000,
    });
    if (r.error || r.status !== 0) {
      const said =
        ((r.stderr as string | null) ?? "") // null when the process never started
          .trim()
          .split("\n")
          .find((l) => l.trim() !== "") ??
        r.error?.message ??
        "no message";
      if (/no stack named/i.test(said)) missing++;
      problems.push(
        `\`pulumi stack output -s ${full}\` failed (exit ${r.status ?? "none"}): ${said}. Fix: \`pulumi login\` to the lab's backend, or deploy the stack (\`pulumi up -s ${stack}\`)`,
      );
      continue;
    }
    let outputs: unknown;
    try {
      outputs = JSON.parse(r.stdout);
    } catch {
      problems.push(`\`pulumi stack output --json -s ${full}\` printed something that is not JSON`);
      continue;
    }
    const value = outputs !== null && typeof outputs === "object" ? (outputs as Record<string, unknown>)[OUTPUTS.docs] : undefined;
    if (stack === DMZ_STACK) {
      const read = readDocsContract({ kind: "dmz" }, full, value);
      if (read.ok) dmz = read.value;
      else problems.push(...read.problems);
    } else {
      const read = readDocsContract({ kind: "segment", name: stack }, full, value);
      if (read.ok) segments.push(read.value);
      else problems.push(...read.problems);
    }
  }
  if (missing === stacks.length)
    return { ok: false, absent: true, reason: `none of the ${count(stacks.length, "stack")} exists (${stacks[0]!.full}, ...)`, problems };
  if (problems.length > 0 || !dmz) return { ok: false, absent: false, reason: "the live outputs are unusable", problems };
  return { ok: true, bundle: { segments, dmz }, stacks: stacks.map((s) => s.full) };
}

/** Stacks whose live docs differ from the model's. */
function driftOf(live: DocsBundle, model: DocsBundle): string[] {
  const drift: string[] = [];
  for (const s of model.segments) {
    const l = live.segments.find((x) => x.name === s.name);
    if (!l || canonicalJson(l) !== canonicalJson(s)) drift.push(s.name);
  }
  if (canonicalJson(live.dmz) !== canonicalJson(model.dmz)) drift.push(DMZ_STACK);
  return drift;
}

/** Every file under `dir`, relative paths with `/`, sorted. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(dir, rel);
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const p = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk("");
  return out.sort();
}

/** A file this program generated (its marker is near the top). */
function isGenerated(file: string): boolean {
  const head = fs.readFileSync(file, "utf8").slice(0, 400);
  return DOCS_MARKERS.some((m) => head.includes(m));
}

/**
 * Write the docs into `out`: changed files only, generated files that are no longer
 * produced removed. A file there that this program did not generate stops the write:
 * `docs/` holds generated files only, and nothing of the user's is deleted.
 */
function writeDocsTree(out: string, files: readonly TextFile[]): { written: number; removed: string[] } {
  const wanted = new Set(files.map((f) => f.path));
  const stale = listTree(out).filter((p) => !wanted.has(p));
  const foreign = stale.filter((p) => !isGenerated(path.join(out, p)));
  if (foreign.length > 0) {
    const shown = foreign.length > 10 ? `${foreign.slice(0, 10).join(", ")} and ${foreign.length - 10} more` : foreign.join(", ");
    throw new DocsError(
      `${display(out)}/ holds files that \`npm run docs\` did not generate: ${shown}. Fix: move them out of ${display(out)}/ (it holds generated pages only), or pass another --out`,
    );
  }
  for (const p of stale) fs.rmSync(path.join(out, p));
  let written = 0;
  for (const f of files) {
    const p = path.join(out, f.path);
    if (fs.existsSync(p) && fs.readFileSync(p, "utf8") === f.content) continue;
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, f.content, { mode: 0o644 });
    written++;
  }
  removeEmptyDirs(out);
  return { written, removed: stale };
}

function removeEmptyDirs(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = path.join(dir, e.name);
    removeEmptyDirs(p);
    if (fs.readdirSync(p).length === 0) fs.rmdirSync(p);
  }
}

/** How the docs tree in `dir` differs from `files`: files changed, missing from it, or extra in it. */
function compareWithTree(files: readonly TextFile[], dir: string): { changed: string[]; missing: string[]; extra: string[] } {
  const have = new Set(listTree(dir));
  const changed: string[] = [];
  const missing: string[] = [];
  for (const f of [...files].sort((a, b) => compareText(a.path, b.path))) {
    if (!have.has(f.path)) missing.push(f.path);
    else if (!fs.readFileSync(path.join(dir, f.path)).equals(Buffer.from(f.content, "utf8"))) changed.push(f.path);
    have.delete(f.path);
  }
  return { changed, missing, extra: [...have].sort() };
}

/** A docs run that cannot go on (a foreign file in the docs directory). */
class DocsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DocsError";
  }
}

/** A path for messages: relative to the working directory when inside it. */
function display(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel === "" ? "." : rel.startsWith("..") ? p : rel;
}

/** The docs of the lab in `dir` from the chosen source, and in words where they came from. */
export interface BuiltDocs {
  /** Undefined when a required live source could not be read. */
  readonly files?: TextFile[];
  readonly note: string;
  /** Errors (no files) or warnings (fell back to the model). */
  readonly problems: readonly string[];
}

/** Build the docs files of the lab in `dir` from the chosen source. */
function buildDocs(dir: string, source: DocsSourceOption, env: NodeJS.ProcessEnv): BuiltDocs {
  const lab = requireLab(dir);
  const model = docsOfLab(lab, planLab(lab));
  if (source === "offline") return { files: renderDocs(model, { kind: "offline" }), note: "offline from the model", problems: [] };
  const live = readLiveDocs(lab, dir, env);
  if (!live.ok) {
    if (source === "live") return { note: "live", problems: live.problems };
    return {
      files: renderDocs(model, { kind: "offline" }),
      note: `offline from the model: ${live.reason}`,
      problems: live.absent ? [] : live.problems,
    };
  }
  const src: DocsSource = { kind: "live", stacks: live.stacks, drift: driftOf(live.bundle, model) };
  const drift = src.drift.length > 0 ? `; the deployed docs of ${src.drift.join(", ")} differ from the model` : "";
  return { files: renderDocs(live.bundle, src), note: `live from ${count(live.stacks.length, "stack")}${drift}`, problems: [] };
}

/** `npm run docs`: returns what to print and the exit code. */
export function runDocs(opts: DocsOptions): DocsRun {
  const env = opts.env ?? process.env;
  // The docs directory holds generated pages only; the lab's own directory is never one.
  if (path.resolve(opts.out) === path.resolve(opts.dir) || fs.existsSync(path.join(opts.out, "Pulumi.yaml"))) {
    return {
      code: 1,
      stdout: "",
      stderr: `docs: ${display(opts.out)} is a lab directory, not a docs directory. Fix: pass --out <dir> (the default is <lab>/docs)\n`,
    };
  }
  const source = opts.source ?? (opts.check ? "offline" : "auto");
  const built = buildDocs(opts.dir, source, env);
  // Problems of a live source the run fell back from are warnings; of a required one, errors.
  const warnings = built.files ? built.problems.map((p) => `docs: warning: ${p}\n`).join("") : "";
  if (!built.files) {
    return {
      code: 1,
      stdout: "",
      stderr: `docs: cannot read the live docs: ${built.problems.length} problem${built.problems.length === 1 ? "" : "s"}\n${built.problems.map((p) => `  - ${p}`).join("\n")}\n`,
    };
  }
  const files = built.files;
  const out = display(opts.out);
  if (!opts.check) {
    try {
      const { written, removed } = writeDocsTree(opts.out, files);
      return {
        code: 0,
        stdout: `docs: ${count(files.length, "file")} in ${out}/ (${built.note}): ${written} written, ${files.length - written} unchanged${removed.length > 0 ? `, removed ${removed.join(", ")}` : ""}\n`,
        stderr: warnings,
      };
    } catch (e) {
      if (e instanceof DocsError) return { code: 1, stdout: "", stderr: `docs: ${e.message}\n` };
      throw e;
    }
  }
  const { changed, missing, extra } = compareWithTree(files, opts.out);
  const stale = changed.length + missing.length + extra.length;
  if (stale === 0)
    return { code: 0, stdout: `docs: ${out}/ is up to date (${count(files.length, "file")}, ${built.note})\n`, stderr: warnings };
  const lines = [
    `docs: ${out}/ is stale: ${stale} file${stale === 1 ? "" : "s"} differ${stale === 1 ? "s" : ""} from what \`npm run docs\` generates (${built.note}):`,
    ...changed.map((p) => `  changed  ${path.posix.join(out, p)}`),
    ...missing.map((p) => `  missing  ${path.posix.join(out, p)}`),
    ...extra.map((p) => `  extra    ${path.posix.join(out, p)}`),
  ];
  const index = path.join(opts.out, "README.md");
  if (source === "offline" && fs.existsSync(index) && fs.readFileSync(index, "utf8").includes("**Source: live stack outputs**")) {
    lines.push(
      `  (${path.posix.join(out, "README.md")} says it was built from live stack outputs; the check compares with the model, which CI can reproduce: commit pages built with \`npm run docs -- --source offline\`)`,
    );
  }
  // Plain `npm run docs` builds offline where there is no Pulumi CLI; elsewhere say so.
  const flag = source === "offline" && !findOnPath("pulumi", env) ? "" : ` -- --source ${source}`;
  lines.push(`Fix: run \`npm run docs${flag}\` and commit ${out}/.`);
  return { code: 1, stdout: "", stderr: `${warnings}${lines.join("\n")}\n` };
}
