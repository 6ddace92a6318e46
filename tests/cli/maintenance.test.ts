// Proves the real `maintenance` CLI (tsx cli/main.ts maintenance, what `npm run maintenance -- <node>` starts): on the reference lab
// it prints pve1's plan (what goes down and for how long, what moves, what loses its spare, the commands in order), with
// --script the script, with --weekly every VM's expected weekly downtime; an unknown node is one clear error listing the nodes (exit 1, no stack trace), and a missing node a usage
// error. Does not prove the planner's cases (tests/unit/maintenance.test.ts) or check the script (tests/tools/scripts.test.ts).
import { referenceLab, referencePlan } from "../support/lab";
import { runCliAsync } from "../support/cli";
import { formatNodeMaintenance, formatWeeklyPlan } from "../../cli/maintenance";
import { planWeek } from "../../model/maintenance/weekly";
import { planNodeMaintenance } from "../../model/maintenance/node";
import { renderMaintenanceScript } from "../../render/maintenance";

const pve1 = () => planNodeMaintenance(referenceLab(), referencePlan().placement, "pve1");

test("npm run maintenance -- pve1 prints the plan", async () => {
  const r = await runCliAsync(["maintenance", "pve1"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(formatNodeMaintenance(pve1()));
  // What the owner reads, independent of the formatter: the lines the issue asks for.
  expect(r.stdout).toContain("Maintenance of Proxmox node pve1 (10.10.0.21): maintenance mode, update, reboot (about 180 s).\n");
  expect(r.stdout).toContain("Critical: nothing the lab marks critical goes down.\n");
  expect(r.stdout).toContain(
    "  lab-vdi (vm:3020): about 220 s (shutdown 10 s + node reboot 180 s + boot 30 s); pinned (passthrough gpu0)\n",
  );
  expect(r.stdout).toContain("  lab-mirror-2 (vm:3032) -> pve4: down about 40 s each way;");
  expect(r.stdout).toContain(
    "  etcd of cluster's Talos cluster: 2 of 3 members up (cluster-cp-1 down): quorum holds, but one more member lost stops the cluster's API\n",
  );
  const commands = r.stdout.split("\n").filter((l) => /^ {7}(ha-manager|ssh|pvecm)/.test(l));
  expect(commands.map((l) => l.trim())).toEqual([
    "ha-manager crm-command relocate vm:3032 pve4",
    "ha-manager crm-command node-maintenance enable pve1",
    "ssh root@10.10.0.21 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y dist-upgrade'",
    "ssh root@10.10.0.21 systemctl reboot",
    "ssh root@10.10.0.21 true",
    "pvecm status   # Quorate: Yes",
    "ssh root@10.10.0.21 qm status 2011   # status: running",
    "ssh root@10.10.0.21 qm status 2021   # status: running",
    "ssh root@10.10.0.21 qm status 3020   # status: running",
    "ha-manager crm-command node-maintenance disable pve1",
    "ha-manager crm-command relocate vm:3032 pve1",
  ]);
}, 60_000);

test("--script prints the script", async () => {
  const r = await runCliAsync(["maintenance", "pve1", "--script"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(renderMaintenanceScript(pve1()));
}, 60_000);

test("npm run maintenance -- --weekly lists every VM with its expected downtime", async () => {
  const r = await runCliAsync(["maintenance", "--weekly"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(formatWeeklyPlan(planWeek(referenceLab(), referencePlan().placement)));
  for (const n of referencePlan().placement.nodes)
    for (const v of n.vms) expect(r.stdout).toMatch(new RegExp(`^  ${v.name} +${v.node} +\\d+ s`, "m"));
  expect(r.stdout).toContain("  lab-vdi: 220 s\n    220 s: pinned (passthrough gpu0): down while pve1 reboots\n");
  expect(r.stdout).toContain("Automatic update restarts a week: 15 restarts (4 routers, 11 hosts), on Sun in windows of 30 minutes:\n");
}, 60_000);

test("an unknown node is one clear error listing the nodes", async () => {
  const r = await runCliAsync(["maintenance", "pve9"]);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toBe(
    '"pve9" is not a Proxmox node of the lab; did you mean "pve1"?\n' +
      "the nodes (homelab.yaml hardware.proxmox.nodes): pve1, pve2, pve3, pve4, pve5\n" +
      "fix: npm run maintenance -- <node>, such as npm run maintenance -- pve1\n",
  );
}, 60_000);

test("no node is a usage error", async () => {
  const r = await runCliAsync(["maintenance"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /^maintenance needs a Proxmox node, such as: npm run maintenance -- pve1 \(or --weekly for the week\)\n\nusage: npm run <command>/,
  );
}, 60_000);
