/**
 * The weekly plan: every Proxmox node maintained once a week, one at a time, and every box's own
 * update restart in its window (model/maintenance/updates.ts). For each VM, its expected weekly
 * downtime against the owners' target of 60 seconds, and for every VM that misses it, why. A live
 * migration costs its pause each way; a relocation its shutdown and boot each way; a pinned VM its
 * shutdown, its node's reboot and its boot; an update restart its shutdown and boot (counted every
 * week: unattended-upgrades and NixOS reboot only when an update needs it, so this is the worst week).
 */
import type { Placement } from "../compute/placement";
import type { Lab } from "../lab";
import { compareText } from "../order";
import { planNodeMaintenance, type NodeMaintenance } from "./node";
import { planUpdates, type UpdateSchedule } from "./updates";

/** The owners' target: at most this many seconds of downtime per VM per week. */
export const WEEKLY_DOWNTIME_TARGET_SECONDS = 60;

/** One cause of a VM's weekly downtime. */
export interface DowntimeCause {
  readonly seconds: number;
  /** In words: `pinned (passthrough gpu0): down while pve1 reboots`. */
  readonly what: string;
  /** Restarts it costs (0 for a live migration). */
  readonly restarts: number;
}

/** One VM's week. */
export interface WeeklyVm {
  readonly vm: string;
  readonly node: string;
  readonly causes: readonly DowntimeCause[];
  readonly seconds: number;
  readonly restarts: number;
  readonly meetsTarget: boolean;
}

/** The week: each node's maintenance in node order, every VM's downtime, and the update restarts. */
export interface WeeklyPlan {
  readonly targetSeconds: number;
  readonly nodes: readonly NodeMaintenance[];
  readonly updates: UpdateSchedule;
  /** Every VM, by name. */
  readonly vms: readonly WeeklyVm[];
  /** The VMs over the target, by name. */
  readonly misses: readonly WeeklyVm[];
  /** Restarts a week from automatic updates, by kind of box. */
  readonly updateRestarts: { readonly routers: number; readonly hosts: number };
}

const round = (n: number) => Math.round(n * 10) / 10;

/** Plan the week of the lab. */
export function planWeek(lab: Lab, placement: Placement): WeeklyPlan {
  const nodes = placement.nodes.map((n) => planNodeMaintenance(lab, placement, n.node));
  const updates = planUpdates(lab);
  const causes = new Map<string, DowntimeCause[]>();
  const add = (vm: string, c: DowntimeCause) => causes.set(vm, [...(causes.get(vm) ?? []), c]);
  for (const n of nodes) {
    for (const m of n.moves)
      add(
        m.vm,
        m.how === "live-migration"
          ? { seconds: 2 * m.secondsEachWay, what: `live-migrated off ${n.node} and back`, restarts: 0 }
          : { seconds: 2 * m.secondsEachWay, what: `relocated off ${n.node} and back, a restart each way (${m.why})`, restarts: 2 },
      );
    for (const o of n.outages) add(o.vm, { seconds: o.downSeconds, what: `${o.why}: down while ${n.node} reboots`, restarts: 1 });
  }
  for (const w of updates.windows)
    if (w.box.vm !== undefined)
      add(w.box.vm, {
        seconds: w.box.restartSeconds,
        what: `its own update restart (${w.box.via}, ${w.day} ${w.start}-${w.end})`,
        restarts: 1,
      });
  const vms = placement.nodes
    .flatMap((n) => n.vms)
    .map((v): WeeklyVm => {
      const cs = causes.get(v.name) ?? [];
      const seconds = round(cs.reduce((a, c) => a + c.seconds, 0));
      return {
        vm: v.name,
        node: v.node,
        causes: cs,
        seconds,
        restarts: cs.reduce((a, c) => a + c.restarts, 0),
        meetsTarget: seconds <= WEEKLY_DOWNTIME_TARGET_SECONDS,
      };
    })
    .sort((a, b) => compareText(a.vm, b.vm));
  return {
    targetSeconds: WEEKLY_DOWNTIME_TARGET_SECONDS,
    nodes,
    updates,
    vms,
    misses: vms.filter((v) => !v.meetsTarget),
    updateRestarts: {
      routers: updates.windows.filter((w) => w.box.kind === "router").length,
      hosts: updates.windows.filter((w) => w.box.kind === "host").length,
    },
  };
}
