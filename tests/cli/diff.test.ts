// Proves `npm run plan -- --diff <ref>` end to end on a temporary git repository holding a copy of the reference lab: changing one flow states exactly that change (plain text, the Markdown pull-request comment, JSON with the touched stacks), the real CLI exits 0 (2 with --exit-code), identical config says "no changes", and an unknown ref or a base that does not validate exits 1 saying why; it does not prove the wording of every kind of change (tests/unit/diff.test.ts) or the workflows (tests/unit/docs-workflows.test.ts).
import * as fs from "fs";
import * as path from "path";
import { computePlanDiff, COMMENT_MARKER, diffExitCode, formatDiff, runPlanDiff, type DiffResult } from "../../cli/diff";
import { runCli } from "../support/cli";
import { copyLab, type LabFiles } from "../support/lab";
import { must } from "../support/proc";

/** git in `dir`, with no user configuration (HOME is the repository itself). */
const git = (dir: string, ...args: string[]) =>
  must(["git", "-c", "user.name=test", "-c", "user.email=test@example.net", "-c", "commit.gpgsign=false", ...args], {
    cwd: dir,
    env: { HOME: dir },
  });

const ONE_FLOW = "new allow lab/vdi → cluster/worker-1 9115/tcp: The VDI reads the build cache on a worker";

/** A git repository with the reference lab committed (removed after the file's tests), then `edit` applied to the working copy. */
function labRepo(edit?: (f: LabFiles) => void): string {
  const dir = copyLab();
  git(dir, "init", "-q", "-b", "main");
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "the reference lab");
  if (edit) copyLab(edit, dir);
  return dir;
}

// A flow to one host without a firewall of its own (a Talos worker): only the two routers' rules change.
const openBuildCache = (f: LabFiles) => {
  f["Pulumi.lab.yaml"].config["homelab:segment"].flows = {
    "build-cache": { from: ["vdi"], to: "cluster/worker-1", ports: ["9115/tcp"], reason: "The VDI reads the build cache on a worker" },
  };
};

let repo: string;
let result: DiffResult;
beforeAll(async () => {
  repo = labRepo(openBuildCache);
  const r = await computePlanDiff(repo, "main");
  if ("error" in r) throw new Error(r.error);
  result = r;
});

test("one flow opened: the statement says exactly that, and the two firewalls' rules change", () => {
  const d = result.diff!;
  expect(d.flows).toEqual([ONE_FLOW]);
  expect([...d.placement, ...d.hosts, ...d.dns, ...d.routes]).toEqual([]);
  expect(d.stacks.map((s) => `${s.stack}: ${s.files.map((f) => f.path).join(", ")}`)).toEqual([
    "cluster: plan.json, router/nftables.conf",
    "lab: plan.json, router/nftables.conf",
  ]);
  expect(result.codeChanged).toBe(false);
});

test("plain text: the statement, the resources and the rules' unified diff", () => {
  const text = formatDiff(result, "text");
  expect(text).toMatch(/^plan --diff main \([0-9a-f]{12}\): 1 change stated; stacks touched: cluster, lab\n\nFlows\n/);
  expect(text).toContain(`\nFlows\n  ${ONE_FLOW}\n\nResources\n  cluster: 0 added, 0 removed, 14 changed; 2 files changed\n`);
  expect(text).toMatch(
    /\n {4}28 changed values only swap [0-9a-f]{16} for [0-9a-f]{16}; the others:\n {6}cluster-fw-release-upload-nftables\.conf source: text \d+ bytes/,
  );
  expect(text).toContain(
    "\nRendered files\n  ~ cluster/plan.json (+34 -0)\n  ~ cluster/router/nftables.conf (+1 -0)\n  ~ lab/plan.json (+34 -0)\n  ~ lab/router/nftables.conf (+1 -0)\n",
  );
  expect(text).toContain("\n--- a/lab/router/nftables.conf\n+++ b/lab/router/nftables.conf\n");
  expect(text).toContain('\n+\t\t\t10.30.0.20 . 10.20.0.21 . tcp . 9115 comment "flow:lab/build-cache/vdi",\n');
  expect(text).not.toMatch(/\[secret\]|PRIVATE KEY/);
});

test("Markdown: a pull-request comment with its marker, headings, and collapsible resources and file diffs", () => {
  const md = formatDiff(result, "markdown");
  expect(md.startsWith(`${COMMENT_MARKER}\n## Offline plan: what this change does\n\nCompared with \`main\``)).toBe(true);
  expect(md).toContain(`\n### Flows\n\n- ${ONE_FLOW}\n`);
  expect(md).toContain(
    "\n### Resources\n\n<details><summary><b>cluster</b>: 0 added, 0 removed, 14 changed; 2 files changed</summary>\n\n",
  );
  expect(md).toContain("\n### Rendered files\n\n- `cluster/plan.json` changed (+34 −0)\n");
  expect(md).toMatch(
    /\n<details><summary><code>lab\/router\/nftables\.conf<\/code> \(\+1 −0\)<\/summary>\n\n```diff\n--- a\/lab\/router\/nftables\.conf\n[\s\S]*?\n```\n\n<\/details>\n/,
  );
  expect(md.length).toBeLessThan(60_000);
});

test("JSON: the touched stacks by their full names, for the in-lab preview", () => {
  const json = JSON.parse(formatDiff(result, "json"));
  expect(json).toMatchObject({
    ref: "main",
    changed: true,
    codeChanged: false,
    touched: [
      { stack: "cluster", name: "organization/homelab/cluster" },
      { stack: "lab", name: "organization/homelab/lab" },
    ],
    statements: { Flows: [ONE_FLOW], Placement: [], Hosts: [], "DNS names": [], "Proxy routes": [] },
  });
});

test("exit 0 whether or not something changed; 2 with --exit-code when it did", () => {
  expect(diffExitCode(result, false)).toBe(0);
  expect(diffExitCode(result, true)).toBe(2);
  expect(diffExitCode({ ...result, diff: undefined }, true)).toBe(0);
});

describe("nothing to state, or nothing to compare with", () => {
  let clean: string;
  beforeAll(() => {
    clean = labRepo();
  });

  test("the real CLI on identical config: no changes, exit 0 even with --exit-code, nothing touched", () => {
    const r = runCli(["plan", "--diff", "main", "--dir", clean, "--json", "--exit-code"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ref: "main",
      changed: false,
      codeChanged: false,
      touched: [],
      statements: {},
      stacks: [],
    });
  }, 60_000);

  test("identical config: no changes, exit 0 even with --exit-code", async () => {
    for (const format of ["text", "markdown"] as const) {
      const r = await runPlanDiff({ dir: clean, ref: "main", format, exitCode: true });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/no changes: the lab's config files are identical at main \([0-9a-f]{12}\)/);
    }
  });

  test("an unknown ref: exit 1, saying what to do", async () => {
    const r = await runPlanDiff({ dir: clean, ref: "no-such-branch", format: "text" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^plan --diff: "no-such-branch" is not a commit of .*\. Fix: name a branch, tag or commit/);
  });

  test("a base that does not validate with this code: exit 1, its problems listed, and a comment that says so", async () => {
    const broken = labRepo();
    const seg = path.join(broken, "Pulumi.lab.yaml");
    const good = fs.readFileSync(seg, "utf8");
    fs.writeFileSync(seg, good.replace("subnet: 10.30.0.0/24", "subnet: 10.30.0.0/24\n    colour: blue"));
    git(broken, "commit", "-q", "-am", "a key this code does not know");
    fs.writeFileSync(seg, good);
    const text = await runPlanDiff({ dir: broken, ref: "HEAD", format: "text" });
    expect(text.code).toBe(1);
    expect(text.stderr).toContain("the lab config at HEAD (");
    expect(text.stderr).toContain(") does not validate with this working tree's code: 1 problem");
    expect(text.stderr).toContain('Pulumi.lab.yaml: homelab:segment.colour = "blue"');
    const md = await runPlanDiff({ dir: broken, ref: "HEAD", format: "markdown" });
    expect(md.code).toBe(1);
    expect(md.stdout).toMatch(new RegExp(`^${COMMENT_MARKER}\\n## Offline plan: what this change does\\n\\nCannot compare with \`HEAD\`:`));
  });
});
