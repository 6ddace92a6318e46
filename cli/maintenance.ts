/**
 * `npm run maintenance -- <node>`: what taking one Proxmox node down for an update and a reboot
 * does (which HA VMs move and where, which pinned VMs go down and for about how long, what loses
 * its spare, whether anything critical goes down) and the Proxmox commands to run, in order.
 * `--script` prints the same steps as one bash script instead.
 */
import { requireLab } from "../model/check";
import { planNodeMaintenance, type NodeMaintenance } from "../model/maintenance/node";
import { planLab } from "../model/plan";
import { planWeek, type WeeklyPlan } from "../model/maintenance/weekly";
import { count } from "../model/problems";
import { didYouMean } from "../model/suggest";
import { maintenanceSteps, renderMaintenanceScript } from "../render/maintenance";

/** What a maintenance run prints and its exit code. */
export interface MaintenanceRun {
  readonly code: 0 | 1;
  readonly stdout: string;
  readonly stderr: string;
}

/** `~220 s`. */
const secs = (n: number) => `${Math.round(n * 10) / 10} s`;

/** The plan in words, then the commands. */
export function formatNodeMaintenance(plan: NodeMaintenance): string {
  const out: string[] = [];
  out.push(
    `Maintenance of Proxmox node ${plan.node} (${plan.address}): maintenance mode, update, reboot (about ${secs(plan.rebootSeconds)}).`,
  );
  out.push("");
  if (plan.criticalDown.length > 0) {
    out.push(
      `!!! CRITICAL: ${count(plan.criticalDown.length, "VM")} the lab marks critical go${plan.criticalDown.length === 1 ? "es" : ""} down:`,
    );
    for (const c of plan.criticalDown) out.push(`!!!   ${c.vm}: down about ${secs(c.seconds)}, ${c.why}`);
    out.push("");
  } else out.push("Critical: nothing the lab marks critical goes down.", "");
  const live = plan.moves.filter((m) => m.how === "live-migration");
  const relocated = plan.moves.filter((m) => m.how === "relocation");
  out.push(`Live-migrates (HA; a pause of about ${secs(plan.migrationPauseSeconds)} each way, out and back):`);
  if (live.length === 0) out.push("  none");
  for (const m of live) out.push(`  ${m.vm} (vm:${m.vmId}) -> ${m.to}`);
  if (relocated.length > 0) {
    out.push("Relocates (HA, restarted on the failover node and again back: it cannot live-migrate):");
    for (const m of relocated) out.push(`  ${m.vm} (vm:${m.vmId}) -> ${m.to}: down about ${secs(m.secondsEachWay)} each way; ${m.why}`);
  }
  out.push("Goes down while the node reboots:");
  if (plan.outages.length === 0) out.push("  none");
  for (const o of plan.outages)
    out.push(
      `  ${o.vm} (vm:${o.vmId}): about ${secs(o.downSeconds)} (shutdown ${secs(o.shutdownSeconds)} + node reboot ${secs(o.rebootSeconds)} + boot ${secs(o.bootSeconds)}); ${o.why}`,
    );
  out.push("Loses redundancy meanwhile:");
  if (plan.redundancy.length === 0) out.push("  nothing");
  for (const r of plan.redundancy) out.push(`  ${r.what}: ${r.detail}`);
  out.push("");
  out.push(
    `Commands, in order, as root on another node of the cluster (\`npm run maintenance -- ${plan.node} --script\` prints them as one script):`,
  );
  maintenanceSteps(plan).forEach((s, i) => {
    out.push(`  ${i + 1}. ${s.what}`);
    for (const c of s.commands) out.push(`       ${c}`);
  });
  return `${out.join("\n")}\n`;
}

/** The weekly plan in words: every VM's downtime against the target, the misses and why, the update windows. */
export function formatWeeklyPlan(week: WeeklyPlan): string {
  const out: string[] = [];
  out.push(
    `Weekly plan: each Proxmox node maintained once, one at a time (${week.nodes.map((n) => n.node).join(", ")}), and each box's own update restart in its window.`,
    `Target: at most ${week.targetSeconds} s of downtime per VM per week.`,
    "",
  );
  const width = Math.max(...week.vms.map((v) => v.vm.length));
  for (const v of week.vms)
    out.push(
      `  ${v.vm.padEnd(width)}  ${v.node}  ${secs(v.seconds).padStart(7)}  ${count(v.restarts, "restart").padEnd(10)}  ${v.meetsTarget ? "ok" : "MISSES the target"}`,
    );
  out.push("");
  if (week.misses.length === 0) out.push(`Every VM meets the target.`);
  else {
    out.push(`${count(week.misses.length, "VM")} of ${week.vms.length} miss the target:`);
    for (const v of week.misses) {
      out.push(`  ${v.vm}: ${secs(v.seconds)}`);
      for (const c of v.causes) out.push(`    ${secs(c.seconds)}: ${c.what}`);
    }
  }
  const u = week.updates;
  out.push(
    "",
    `Automatic update restarts a week: ${count(week.updateRestarts.routers + week.updateRestarts.hosts, "restart")} (${count(week.updateRestarts.routers, "router")}, ${count(week.updateRestarts.hosts, "host")}), on ${u.day} in windows of ${u.windowMinutes} minutes:`,
  );
  for (const w of u.windows)
    out.push(
      `  ${w.start}-${w.end}  ${w.box.id} (${w.box.kind}, ${w.box.via}, about ${secs(w.box.restartSeconds)})${w.declared ? ", declared" : ""}`,
    );
  out.push("Never together:");
  for (const c of u.clashes) out.push(`  ${c.a} and ${c.b}: ${c.why}`);
  return `${out.join("\n")}\n`;
}

/** Print the weekly plan of the lab at `dir`. */
export function runWeeklyPlan(opts: { readonly dir: string }): MaintenanceRun {
  const lab = requireLab(opts.dir);
  return { code: 0, stdout: formatWeeklyPlan(planWeek(lab, planLab(lab).placement)), stderr: "" };
}

/** Plan the maintenance of `node` in the lab at `dir`. */
export function runMaintenance(opts: { readonly dir: string; readonly node: string; readonly script: boolean }): MaintenanceRun {
  const lab = requireLab(opts.dir);
  const nodes = Object.keys(lab.hardware.proxmox.nodes).sort();
  if (!nodes.includes(opts.node))
    return {
      code: 1,
      stdout: "",
      stderr: `"${opts.node}" is not a Proxmox node of the lab${didYouMean(opts.node, nodes)}\nthe nodes (homelab.yaml hardware.proxmox.nodes): ${nodes.join(", ")}\nfix: npm run maintenance -- <node>, such as npm run maintenance -- ${nodes[0]}\n`,
    };
  const plan = planNodeMaintenance(lab, planLab(lab).placement, opts.node);
  return { code: 0, stdout: opts.script ? renderMaintenanceScript(plan) : formatNodeMaintenance(plan), stderr: "" };
}
