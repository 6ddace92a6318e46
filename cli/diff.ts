/**
 * `npm run plan -- --diff <ref>`: plan the working tree's lab and the lab at a git ref,
 * both under mocks, and state what the change does in plain words: flows opened and
 * closed, VMs moved, hosts, DNS names and proxy routes, resources per stack with the
 * inputs that changed (secrets redacted), and rendered files with a unified diff.
 *
 * Which code plans the lab at <ref>? This working tree's, on <ref>'s config files. The
 * diff then shows exactly what the *config* change does, needs no second `npm ci`, and
 * cannot fail because old code does not run here. What it cannot show is what a *code*
 * change does to the rendered files: it says so when the program's code differs from
 * <ref>, and the real `pulumi preview` (the in-lab workflow) covers that.
 *
 * Exit codes: 0 (changes or not; a pull request's comment is not an error), 2 with
 * `--exit-code` when something changed (like `git diff --exit-code`, but 1 stays "error"),
 * 1 when either lab is invalid or a git or plan step fails.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkLabDir, requireLab } from "../model/check";
import { diffPlans, isEmptyDiff, snapshotOfLab, type LabSnapshot, type PlanDiff } from "../model/diff";
import { fullStackName, labStacks } from "../model/network/dmz";
import { LAB_FILE, type Lab } from "../model/lab";
import { formatProblems } from "../model/problems";
import { cell } from "../pages/markdown";
import { PlanError, planStacks } from "./plan";

/** Output formats of a diff. */
export type DiffFormat = "text" | "markdown" | "json";

/** Options of `plan --diff`. */
export interface DiffOptions {
  readonly dir: string;
  readonly ref: string;
  readonly format: DiffFormat;
  /** Exit 2 when something changed. @default false */
  readonly exitCode?: boolean;
}

/** What to print and the exit code. */
export interface DiffRun {
  readonly code: 0 | 1 | 2;
  readonly stdout: string;
  readonly stderr: string;
}

/** The marker the pull-request comment carries, so CI updates one comment instead of adding more. */
export const COMMENT_MARKER = "<!-- homelab-plan-diff -->";

/** The files of a lab directory that hold its config (what requireLab reads). */
function isLabConfigFile(name: string): boolean {
  return name === "Pulumi.yaml" || name === LAB_FILE || /^Pulumi\.[^.]+\.ya?ml$/.test(name);
}

/** The program's own code: what plans a lab. Config and docs are not code. */
const CODE_PATHS = [
  "index.ts",
  "components",
  "providers",
  "render",
  "pages",
  "model",
  "stacks",
  "cli/plan.ts",
  "cli/mock-runtime.ts",
  "cli/mock-providers.ts",
  "package.json",
  "package-lock.json",
];

function git(cwd: string, args: readonly string[]): string {
  return execFileSync("git", [...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
}

/** A failure of the diff's own steps, with what to do. */
class DiffError extends Error {}

/**
 * Write the lab config files of `dir` as they are at `ref` into a new temporary
 * directory (read-only git: `git show <ref>:<path>`, nothing checked out). Returns it.
 */
function labAtRef(dir: string, ref: string): { tmp: string; commit: string } {
  let top: string;
  let prefix: string;
  try {
    top = git(dir, ["rev-parse", "--show-toplevel"]).trim();
    prefix = git(dir, ["rev-parse", "--show-prefix"]).trim();
  } catch {
    throw new DiffError(
      `${dir} is not inside a git repository, so there is no ${ref} to compare with. Fix: run it in a clone, or pass --dir with a lab inside one`,
    );
  }
  let commit: string;
  try {
    commit = git(top, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).trim();
  } catch {
    throw new DiffError(
      `"${ref}" is not a commit of ${top}. Fix: name a branch, tag or commit (for a pull request, fetch the base branch first: git fetch origin main)`,
    );
  }
  const listed = git(top, ["ls-tree", "--name-only", commit, "--", prefix === "" ? "." : prefix])
    .split("\n")
    .filter((p) => p !== "" && isLabConfigFile(path.posix.basename(p)));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-diff-base-"));
  for (const p of listed) {
    const content = execFileSync("git", ["show", `${commit}:${p}`], {
      cwd: top,
      maxBuffer: 64 * 1024 * 1024,
      stdio: ["ignore", "pipe", "pipe"],
    });
    fs.writeFileSync(path.join(tmp, path.posix.basename(p)), content);
  }
  return { tmp, commit };
}

/** True when both directories hold the same lab config files, byte for byte. */
function sameConfig(a: string, b: string): boolean {
  const files = (d: string) => fs.readdirSync(d).filter(isLabConfigFile).sort();
  const fa = files(a);
  const fb = files(b);
  return (
    fa.length === fb.length && fa.every((f, i) => f === fb[i] && fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))))
  );
}

/** True when the program's code in this working tree differs from `ref` (only when the lab lives in the program's own repository). */
function codeDiffers(dir: string, ref: string): boolean {
  const repo = path.resolve(__dirname, "..");
  try {
    const top = (p: string) => fs.realpathSync(git(p, ["rev-parse", "--show-toplevel"]).trim());
    if (top(dir) !== top(repo)) return false;
    execFileSync("git", ["diff", "--quiet", ref, "--", ...CODE_PATHS], { cwd: repo, stdio: "ignore" });
    return false;
  } catch (e) {
    return (e as { status?: number }).status === 1;
  }
}

/** Plan every stack of the lab in `dir` and take its snapshot. */
async function snapshot(lab: Lab, dir: string): Promise<LabSnapshot> {
  const plan = await planStacks({ dir, stacks: [] });
  return snapshotOfLab(lab, plan.stacks);
}

/** A diff that could not be made: what to say, and the Markdown comment that says it. */
export interface DiffFailure {
  readonly error: string;
  /** For an invalid base: a pull-request comment explaining it. */
  readonly markdown?: string;
}

/** Compare the working tree's lab in `dir` with the lab config at `ref`. */
export async function computePlanDiff(dir: string, ref: string): Promise<DiffResult | DiffFailure> {
  const lab = requireLab(dir);
  let base: { tmp: string; commit: string } | undefined;
  try {
    base = labAtRef(dir, ref);
    const codeChanged = codeDiffers(dir, ref);
    const short = base.commit.slice(0, 12);
    if (sameConfig(base.tmp, dir)) return { ref, commit: short, codeChanged, lab, diff: undefined };
    const checked = checkLabDir(base.tmp);
    if (!checked.lab) {
      const why = formatProblems(checked.problems, `the lab config at ${ref} (${short}) does not validate with this working tree's code`);
      const error = `${why}\n\nThere is nothing to compare with. If this branch changed the config format, that is expected: the diff cannot state the change; the in-lab \`pulumi preview\` shows it.`;
      return {
        error,
        markdown: `${COMMENT_MARKER}\n## Offline plan: what this change does\n\nCannot compare with \`${ref}\`:\n\n\`\`\`\n${error}\n\`\`\`\n`,
      };
    }
    const before = await snapshot(checked.lab, base.tmp);
    const after = await snapshot(lab, dir);
    return { ref, commit: short, codeChanged, lab, diff: diffPlans(before, after) };
  } catch (e) {
    if (e instanceof DiffError) return { error: e.message };
    if (e instanceof PlanError) return { error: `a stack program failed under mocks:\n${e.message}` };
    throw e;
  } finally {
    if (base) fs.rmSync(base.tmp, { recursive: true, force: true });
  }
}

/** `plan --diff`: compare, and print in the requested format. */
export async function runPlanDiff(opts: DiffOptions): Promise<DiffRun> {
  const r = await computePlanDiff(opts.dir, opts.ref);
  if ("error" in r) {
    if (opts.format === "markdown" && r.markdown) return { code: 1, stdout: r.markdown, stderr: "" };
    return { code: 1, stdout: "", stderr: `plan --diff: ${r.error}\n` };
  }
  return { code: diffExitCode(r, opts.exitCode ?? false), stdout: formatDiff(r, opts.format), stderr: "" };
}

/** 0, or 2 with `--exit-code` when something changed. */
export function diffExitCode(r: DiffResult, exitCode: boolean): 0 | 2 {
  return exitCode && r.diff !== undefined && !isEmptyDiff(r.diff) ? 2 : 0;
}

/** The comparison. `diff` undefined: the config files are identical, nothing was planned. */
export interface DiffResult {
  readonly ref: string;
  /** The ref's commit, shortened. */
  readonly commit: string;
  /** The program's code differs from the ref (only known when the lab is in the program's repository). */
  readonly codeChanged: boolean;
  readonly lab: Lab;
  readonly diff: PlanDiff | undefined;
}

/** The comparison in words: text for a terminal, Markdown for a pull request, JSON for workflows. */
export function formatDiff(r: DiffResult, format: DiffFormat): string {
  return format === "json" ? formatJson(r) : format === "markdown" ? formatMarkdown(r) : formatText(r);
}

/** The topics in the order they are told, with their headings. */
function topics(d: PlanDiff): [string, readonly string[]][] {
  return [
    ["Flows", d.flows],
    ["Placement", d.placement],
    ["Hosts", d.hosts],
    ["DNS names", d.dns],
    ["Proxy routes", d.routes],
  ];
}

function statementCount(d: PlanDiff): number {
  return topics(d).reduce((n, [, l]) => n + l.length, 0);
}

const CODE_NOTE =
  "The program's code also differs from the base; this diff runs this branch's code on both labs, so it shows what the config change does, not what the code change does (the in-lab `pulumi preview` shows that).";

function noChange(r: DiffResult): string {
  return r.diff === undefined
    ? `no changes: the lab's config files are identical at ${r.ref} (${r.commit})`
    : `no changes: the lab at ${r.ref} (${r.commit}) plans exactly as the working tree's`;
}

function resourceLines(s: PlanDiff["stacks"][number]): string[] {
  return [
    ...s.added.map((x) => `+ ${x.type} ${x.name}`),
    ...s.removed.map((x) => `- ${x.type} ${x.name}`),
    ...s.changed.map((x) => `~ ${x.type} ${x.name}: ${x.inputs.map((i) => i.path).join(", ")}`),
  ];
}

/** True when an input change is the stack's common swap (a new release id), told once. */
function isCommonSwap(s: PlanDiff["stacks"][number], i: PlanDiff["stacks"][number]["changed"][number]["inputs"][number]): boolean {
  return s.commonSwap !== undefined && i.swap?.from === s.commonSwap.from && i.swap.to === s.commonSwap.to;
}

function stackSummary(s: PlanDiff["stacks"][number]): string {
  return `${s.added.length} added, ${s.removed.length} removed, ${s.changed.length} changed; ${s.files.length} file${s.files.length === 1 ? "" : "s"} changed`;
}

function formatText(r: DiffResult): string {
  const d = r.diff;
  if (!d || isEmptyDiff(d)) return `plan --diff ${r.ref}: ${noChange(r)}${r.codeChanged ? `\n${CODE_NOTE}` : ""}\n`;
  const out = [
    `plan --diff ${r.ref} (${r.commit}): ${statementCount(d)} change${statementCount(d) === 1 ? "" : "s"} stated; stacks touched: ${d.stacks.map((s) => s.stack).join(", ") || "none"}`,
  ];
  if (r.codeChanged) out.push(CODE_NOTE);
  for (const [title, lines] of topics(d)) {
    if (lines.length === 0) continue;
    out.push("", title, ...lines.map((l) => `  ${l}`));
  }
  if (d.stacks.length > 0) {
    out.push("", "Resources");
    for (const s of d.stacks) {
      out.push(`  ${s.stack}: ${stackSummary(s)}`);
      out.push(...resourceLines(s).map((l) => `    ${l}`));
      const rest = s.changed.flatMap((c) =>
        c.inputs.filter((i) => !isCommonSwap(s, i)).map((i) => `      ${c.name} ${i.path}: ${i.before} → ${i.after}`),
      );
      if (s.commonSwap)
        out.push(
          `    ${s.commonSwap.count} changed values only swap ${s.commonSwap.from} for ${s.commonSwap.to}${rest.length > 0 ? "; the others:" : ""}`,
        );
      out.push(...rest);
    }
    out.push("", "Rendered files");
    for (const s of d.stacks)
      for (const f of s.files)
        out.push(`  ${f.change === "added" ? "+" : f.change === "removed" ? "-" : "~"} ${s.stack}/${f.path} (+${f.added} -${f.removed})`);
    for (const s of d.stacks) for (const f of s.files) out.push("", f.diff.trimEnd());
  }
  return `${out.join("\n")}\n`;
}

/** GitHub refuses comments over 65536 characters; keep room for the rest. */
const COMMENT_BUDGET = 60_000;

function mdCode(text: string): string {
  return `<code>${cell(text)}</code>`;
}

function formatMarkdown(r: DiffResult): string {
  const d = r.diff;
  const out = [COMMENT_MARKER, "## Offline plan: what this change does", ""];
  if (!d || isEmptyDiff(d)) {
    out.push(`Compared with \`${r.ref}\` (\`${r.commit}\`): **${noChange(r)}**.`);
    if (r.codeChanged) out.push("", CODE_NOTE);
    return `${out.join("\n")}\n`;
  }
  out.push(
    `Compared with \`${r.ref}\` (\`${r.commit}\`): ${statementCount(d)} change${statementCount(d) === 1 ? "" : "s"} stated; stacks touched: ${d.stacks.map((s) => `\`${s.stack}\``).join(", ") || "none"}. Both labs are planned with this branch's code under Pulumi's mocks, without credentials or hardware.`,
  );
  if (r.codeChanged) out.push("", `> ${CODE_NOTE}`);
  for (const [title, lines] of topics(d)) {
    if (lines.length === 0) continue;
    out.push("", `### ${title}`, "", ...lines.map((l) => `- ${cell(l)}`));
  }
  if (d.stacks.length > 0) {
    out.push("", "### Resources", "");
    for (const s of d.stacks) {
      out.push(`<details><summary><b>${s.stack}</b>: ${stackSummary(s)}</summary>`, "");
      const rows = [
        ...s.added.map((x) => ["+", mdCode(x.type), mdCode(x.name), "new"]),
        ...s.removed.map((x) => ["-", mdCode(x.type), mdCode(x.name), "removed"]),
        ...s.changed.map((x) => [
          "~",
          mdCode(x.type),
          mdCode(x.name),
          x.inputs
            .map((i) => (isCommonSwap(s, i) ? mdCode(i.path) : `${mdCode(i.path)}: ${cell(i.before)} → ${cell(i.after)}`))
            .join("<br>"),
        ]),
      ];
      if (s.commonSwap)
        out.push(
          `${s.commonSwap.count} changed values only swap <code>${cell(s.commonSwap.from)}</code> for <code>${cell(s.commonSwap.to)}</code> (shown by name only).`,
          "",
        );
      if (rows.length > 0) out.push("| | type | name | inputs |", "|---|---|---|---|", ...rows.map((row) => `| ${row.join(" | ")} |`), "");
      out.push("</details>", "");
    }
    out.push("### Rendered files", "");
    for (const s of d.stacks) for (const f of s.files) out.push(`- \`${s.stack}/${f.path}\` ${f.change} (+${f.added} −${f.removed})`);
    out.push("");
    let used = out.join("\n").length;
    const files = d.stacks.flatMap((s) => s.files.map((f) => ({ stack: s.stack, f })));
    let left = 0;
    for (const { stack, f } of files) {
      // A fence longer than any backtick run inside keeps the diff from closing it early.
      const fence = "`".repeat(Math.max(3, ...[...f.diff.matchAll(/`+/g)].map((m) => m[0].length + 1)));
      const block = [
        `<details><summary><code>${stack}/${f.path}</code> (+${f.added} −${f.removed})</summary>`,
        "",
        `${fence}diff`,
        f.diff.trimEnd(),
        fence,
        "",
        "</details>",
        "",
      ].join("\n");
      if (used + block.length > COMMENT_BUDGET) {
        left++;
        continue;
      }
      out.push(block);
      used += block.length + 1;
    }
    if (left > 0)
      out.push(
        `${left} file diff${left === 1 ? "" : "s"} left out to stay under GitHub's comment size; run \`npm run plan -- --diff ${r.ref}\` to see ${left === 1 ? "it" : "them"}.`,
        "",
      );
  }
  return `${out.join("\n").trimEnd()}\n`;
}

function formatJson(r: DiffResult): string {
  const d = r.diff;
  const changed = d !== undefined && !isEmptyDiff(d);
  // A code change can change any stack's files: then every stack is touched.
  const touched = r.codeChanged ? labStacks(r.lab).map((s) => s.stack) : (d?.stacks.map((s) => s.stack) ?? []);
  const json = {
    ref: r.ref,
    commit: r.commit,
    changed,
    codeChanged: r.codeChanged,
    touched: touched.map((stack) => ({ stack, name: fullStackName(r.lab, stack) })),
    statements: d ? Object.fromEntries(topics(d).map(([t, l]) => [t, l])) : {},
    stacks: d?.stacks ?? [],
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}
