// Proves shellcheck and bash -n pass the fixed bash under render/scripts/ read in place (the files a developer edits, not copies), pass each assembled commit-confirm script as a box gets it, the Release component's driver as the deployer runs it, each Talos roll step as Pulumi runs it and each node's maintenance script as the owner runs it, and fail a body with a planted defect (the negative control); does not run the scripts (router-apply, nixos-apply and the twin do).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planNodeMaintenance } from "../../model/maintenance/node";
import { renderMaintenanceScript } from "../../render/maintenance";
import { renderNixosApply } from "../../render/nixos-apply";
import { renderReleaseDriver } from "../../render/release-driver";
import { renderRouterApply } from "../../render/router-apply";
import { loadScriptBody, SCRIPT_BODIES, scriptBodyPath } from "../../render/scripts/load";
import { requirePrograms } from "../support/checkers";
import { referenceLab, referencePlan } from "../support/lab";
import { referenceRollSteps } from "../support/talos-roll";
import { run, type Run } from "../support/proc";

/** What the "sh" checker runs: bash's parser, then shellcheck for bash, from a neutral directory. */
const shellcheck = (file: string): Run => run(["sh", "-c", `bash -n "$1" && shellcheck -s bash "$1"`, "check", file], { cwd: os.tmpdir() });
const report = (r: Run) => `exit ${r.code}\n${r.stdout}${r.stderr}`;

const plan = referencePlan();
const assembled: readonly [string, string][] = [
  ...Object.values(plan.segments).map((s): [string, string] => [`router ${s.router.name}`, renderRouterApply(s.router)]),
  ["NixOS host infra.lab.example.net", renderNixosApply({ host: "infra.lab.example.net" })],
  [
    "the release driver of a router behind its jump host",
    renderReleaseDriver({
      release: "0123456789abcdef",
      box: {
        host: "10.20.0.1",
        port: 22,
        user: "deploy",
        hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhQ4k0m8gkHcM2sA1mN5dF0pYkq0dWbY2rQvX7T9c4z",
      },
      jump: {
        host: "192.168.1.12",
        port: 22,
        user: "deploy",
        hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhQ4k0m8gkHcM2sA1mN5dF0pYkq0dWbY2rQvX7T9c4z",
      },
      apply: "sudo -n bash /home/deploy/homelab-uploads/0123456789abcdef/apply.sh apply 0123456789abcdef 120",
      confirm: "sudo -n bash /home/deploy/homelab-uploads/0123456789abcdef/apply.sh confirm 0123456789abcdef",
      timeoutSeconds: 120,
    }),
  ],
  ...referenceRollSteps().map((s): [string, string] => [`talos roll step ${s.id}`, s.file.content]),
  ...plan.placement.nodes.map((n): [string, string] => [
    `the maintenance of ${n.node}`,
    renderMaintenanceScript(planNodeMaintenance(referenceLab(), plan.placement, n.node)),
  ]),
];

let tmp = "";
beforeAll(() => {
  requirePrograms({ bash: "bash", shellcheck: "shellcheck" });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-scripts-"));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("shellcheck reads the bodies in place", () => {
  test.each(SCRIPT_BODIES)("render/scripts/%s.sh", (body) => {
    expect(report(shellcheck(scriptBodyPath(body)))).toBe("exit 0\n");
  });
});

describe("shellcheck passes each assembled script", () => {
  test.each(assembled)("%s", (_box, text) => {
    const file = path.join(tmp, "apply.sh");
    fs.writeFileSync(file, text, { mode: 0o755 });
    expect(report(shellcheck(file))).toBe("exit 0\n");
  });
});

describe("negative controls: a planted defect fails", () => {
  test.each([
    ["an unquoted expansion", "rm -rf $STATE/x\n", /SC2086/],
    ["a variable assigned and never read", "leftover=1\n", /SC2034/],
    ["a bash syntax error", "if true; then\n", /syntax error|unexpected end of file/],
  ])("%s in a body", (_what, defect, finding) => {
    const file = path.join(tmp, "router-apply.sh");
    fs.writeFileSync(file, `${loadScriptBody("router-apply")}${defect}`);
    const r = shellcheck(file);
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(finding);
  });

  test("an unquoted array expansion in an assembled maintenance script", () => {
    const file = path.join(tmp, "maintenance.sh");
    fs.writeFileSync(file, `${renderMaintenanceScript(planNodeMaintenance(referenceLab(), plan.placement, "pve1"))}all_run \${away[@]}\n`);
    const r = shellcheck(file);
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/SC2068/);
  });

  test("an unquoted expansion in an assembled roll step", () => {
    const file = path.join(tmp, "roll-step.sh");
    fs.writeFileSync(file, `${referenceRollSteps()[0]!.file.content}rm -rf $work/x\n`);
    const r = shellcheck(file);
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/SC2086/);
  });
});
