/**
 * A node's maintenance as what the owner runs: the Proxmox commands in order (for the plan's
 * printout and the docs), and the same steps as one bash script, its facts rendered here and its
 * fixed bash in render/scripts/node-maintenance.sh. Command lines as the Proxmox VE docs give
 * them (ha-manager.adoc "Maintenance Mode", system-software-updates.adoc).
 */
import type { NodeMaintenance } from "../model/maintenance/node";
import { renderScript, type ShellFact } from "./apply-common";
import { generatedHeader } from "./header";

/** How long each wait of the script may take, and how often it looks. */
export const MAINTENANCE_WAIT = { seconds: 900, pollSeconds: 5 } as const;

/** One step the owner runs: what it does, and the commands (run as root on another node of the cluster). */
export interface MaintenanceStep {
  readonly what: string;
  readonly commands: readonly string[];
}

/** The steps of one node's maintenance, in order; a step with nothing to do is left out. */
export function maintenanceSteps(plan: NodeMaintenance): MaintenanceStep[] {
  const { node, address } = plan;
  const migrated = plan.moves.filter((m) => m.how === "live-migration");
  const relocated = plan.moves.filter((m) => m.how === "relocation");
  const ssh = (cmd: string) => `ssh root@${address} ${cmd}`;
  const steps: (MaintenanceStep | undefined)[] = [
    relocated.length > 0
      ? {
          what: "relocate the HA VMs Proxmox cannot live-migrate (each restarts on its failover node)",
          commands: relocated.map((m) => `ha-manager crm-command relocate vm:${m.vmId} ${m.to}`),
        }
      : undefined,
    {
      what: "enable maintenance mode: HA live-migrates the other HA VMs away",
      commands: [`ha-manager crm-command node-maintenance enable ${node}`],
    },
    plan.moves.length > 0
      ? {
          what: "wait until `ha-manager status` shows each on its failover node",
          commands: plan.moves.map((m) => `service vm:${m.vmId} (${m.to}, started)`),
        }
      : undefined,
    { what: "update the node", commands: [ssh("'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y dist-upgrade'")] },
    { what: `reboot it (about ${plan.rebootSeconds} s)`, commands: [ssh("systemctl reboot")] },
    {
      what: "wait for health: the node answers, the cluster is quorate, the pinned VMs run",
      commands: [ssh("true"), "pvecm status   # Quorate: Yes", ...plan.outages.map((o) => ssh(`qm status ${o.vmId}   # status: running`))],
    },
    { what: "disable maintenance mode: HA migrates the VMs back", commands: [`ha-manager crm-command node-maintenance disable ${node}`] },
    migrated.length > 0
      ? {
          what: `wait until \`ha-manager status\` shows each back on ${node}`,
          commands: migrated.map((m) => `service vm:${m.vmId} (${node}, started)`),
        }
      : undefined,
    relocated.length > 0
      ? {
          what: `relocate the others back to ${node} (maintenance mode returns only what was on the node when it began)`,
          commands: relocated.map((m) => `ha-manager crm-command relocate vm:${m.vmId} ${node}`),
        }
      : undefined,
    relocated.length > 0
      ? {
          what: `wait until \`ha-manager status\` shows them back on ${node}`,
          commands: relocated.map((m) => `service vm:${m.vmId} (${node}, started)`),
        }
      : undefined,
  ];
  return steps.filter((s): s is MaintenanceStep => s !== undefined);
}

/** The steps as one bash script: the plan's facts, then render/scripts/node-maintenance.sh. */
export function renderMaintenanceScript(plan: NodeMaintenance): string {
  const pair = (m: NodeMaintenance["moves"][number]) => ({ value: `vm:${m.vmId} ${m.to}`, comment: m.vm });
  const facts: ShellFact[] = [
    { name: "NODE", value: plan.node, comment: "The node to maintain and its management address." },
    { name: "NODE_ADDRESS", value: plan.address },
    {
      name: "MIGRATE",
      value: plan.moves.filter((m) => m.how === "live-migration").map(pair),
      comment: "HA VMs maintenance mode live-migrates, each to its failover node.",
    },
    {
      name: "RELOCATE",
      value: plan.moves.filter((m) => m.how === "relocation").map(pair),
      comment: "HA VMs Proxmox cannot live-migrate: relocated (restarted) to their failover node first.",
    },
    {
      name: "PINNED",
      value: plan.outages.map((o) => ({ value: String(o.vmId), comment: `${o.vm}: ${o.why}` })),
      comment: "VMs that stay and are down while the node reboots, by VM id.",
    },
    { name: "WAIT_SECONDS", value: MAINTENANCE_WAIT.seconds },
    { name: "POLL_SECONDS", value: MAINTENANCE_WAIT.pollSeconds },
  ];
  return renderScript(
    generatedHeader("#", `Maintenance of Proxmox node ${plan.node}: run as root on another node of the cluster.`, "render/maintenance.ts"),
    facts,
    "node-maintenance",
  );
}
