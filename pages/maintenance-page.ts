/** Maintenance (maintenance.md): the weekly plan against the downtime target, each node's maintenance with its commands, and the update windows. */
import { cell, code, Page, table } from "./markdown";
import { nav, type DocsContext } from "./context";
import type { DocsMaintenance } from "./contract";

const secs = (n: number) => `${Math.round(n * 10) / 10} s`;

/** The weekly table and the misses. */
function addWeek(p: Page, m: DocsMaintenance): void {
  p.heading(2, "The week");
  const misses = m.vms.filter((v) => !v.meetsTarget);
  p.add(
    `Each node is maintained once a week, one at a time (${m.nodes.map((n) => cell(n.node)).join(", ")}), and each box restarts once for its own updates, in its window. ` +
      `A live migration counts as ${secs(m.migrationPauseSeconds)} each way (hardware.proxmox.migrationPauseSeconds: the pause at the switch-over); a relocation, a pinned VM and an update restart count the VM's shutdown and boot, a pinned VM also its node's reboot. ` +
      `The target is at most ${m.targetSeconds} s of downtime per VM per week: ` +
      (misses.length === 0 ? "every VM meets it." : `**${misses.length} of ${m.vms.length} VMs miss it**, each with its reasons below.`),
  );
  p.add(
    table(
      ["VM", "node", "downtime a week", "restarts", "target", "why"],
      m.vms.map((v) => [
        cell(v.vm),
        cell(v.node),
        secs(v.seconds),
        String(v.restarts),
        v.meetsTarget ? "meets" : "**misses**",
        v.causes.length === 0 ? "nothing takes it down" : v.causes.map((c) => `${secs(c.seconds)}: ${cell(c.what)}`).join("<br>"),
      ]),
    ),
  );
}

/** One node's section: what moves, what goes down, what loses its spare, the commands. */
function addNode(p: Page, n: DocsMaintenance["nodes"][number]): void {
  p.heading(3, `Node ${n.node}`);
  if (n.criticalDown.length > 0)
    p.add(
      `**Critical: ${n.criticalDown.map((c) => `${cell(c.vm)} goes down for about ${secs(c.seconds)} (${cell(c.why)})`).join("; ")}.**`,
    );
  const facts: string[] = [
    `- reboot: about ${secs(n.rebootSeconds)}`,
    `- live-migrates: ${
      n.moves
        .filter((x) => x.how === "live-migration")
        .map((x) => `${cell(x.vm)} → ${cell(x.to)}`)
        .join(", ") || "none"
    }`,
    `- relocated (restarted there and back): ${
      n.moves
        .filter((x) => x.how === "relocation")
        .map((x) => `${cell(x.vm)} → ${cell(x.to)} (${secs(x.secondsEachWay)} each way)`)
        .join(", ") || "none"
    }`,
    `- down while it reboots: ${n.outages.map((o) => `${cell(o.vm)} (${secs(o.downSeconds)}, ${cell(o.why)})`).join(", ") || "none"}`,
    `- loses redundancy: ${n.redundancy.map((r) => `${cell(r.what)}: ${cell(r.detail)}`).join("; ") || "nothing"}`,
  ];
  p.add(facts.join("\n"));
  p.add(
    `Run as root on another node of the cluster, in order (\`npm run maintenance -- ${n.node} --script\` prints them as one script that waits at each step):`,
  );
  p.add(n.steps.map((s, i) => `${i + 1}. ${cell(s.what)}: ${s.commands.map(code).join(", ")}`).join("\n"));
}

/** The update windows and who never restarts with whom. */
function addUpdates(p: Page, u: DocsMaintenance["updates"]): void {
  p.heading(2, "Automatic updates");
  const routers = u.windows.filter((w) => w.kind === "router").length;
  p.add(
    `Each window is when a box installs its updates and restarts if an update needs it, on ${u.day} (${u.windowMinutes} minutes, maintenance.updates in homelab.yaml): routers and Debian or Ubuntu hosts with unattended-upgrades, NixOS hosts with system.autoUpgrade. ` +
      `That is up to ${u.windows.length} restarts a week (${routers} routers, ${u.windows.length - routers} hosts). A router restart (assumed about 60 s) cuts its whole segment off meanwhile. ` +
      "Boxes that must not restart together never share a window; `npm run check` refuses a declared window that would.",
  );
  p.add(
    table(
      ["window", "box", "kind", "updates with", "restart", "declared"],
      u.windows.map((w) => [
        `${cell(u.day)} ${w.start}-${w.end}`,
        cell(w.box),
        w.kind,
        w.via,
        `about ${secs(w.restartSeconds)}`,
        w.declared ? "yes" : "no",
      ]),
    ),
  );
  p.add(["Never in the same window:", ...u.clashes.map((c) => `- ${cell(c.a)} and ${cell(c.b)}: ${cell(c.why)}`)].join("\n"));
}

/** The maintenance page. */
export function renderMaintenance(ctx: DocsContext): string {
  const from = "maintenance.md";
  const m = ctx.dmz.maintenance;
  const p = new Page();
  p.heading(1, "Maintenance");
  p.add(nav(from));
  p.add(
    "What maintaining each Proxmox node costs, planned from the placement: maintenance mode moves every HA VM to its failover node (the one other node its HA rule allows), by live migration or, while its install ISO is still attached, by relocation (a restart); pinned VMs go down for the reboot. `npm run maintenance -- <node>` prints one node's plan and commands, `npm run maintenance -- --weekly` the week.",
  );
  addWeek(p, m);
  p.heading(2, "Each node");
  for (const n of m.nodes) addNode(p, n);
  addUpdates(p, m.updates);
  return p.text();
}
