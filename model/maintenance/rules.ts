/**
 * The maintenance domain's rule: the update windows in homelab.yaml (maintenance.updates.windows)
 * name boxes that update themselves, end by midnight, and never let two boxes that must not
 * restart together (a router and its jump host, two hosts of one role in a segment) restart at
 * the same time (model/maintenance/updates.ts).
 */
import { LAB_FILE } from "../lab";
import { problem, type Problem } from "../problems";
import type { Rule } from "../rule";
import { didYouMean } from "../suggest";
import {
  minuteOf,
  overlappingClashes,
  planUpdates,
  timeOf,
  updateBoxes,
  windowPath,
  type UpdateSchedule,
  type UpdateWindow,
} from "./updates";

/** The first window from `start` that overlaps none of `others`, `HH:MM`; undefined when the day is full. */
function freeWindow(schedule: UpdateSchedule, start: number, others: readonly UpdateWindow[]): string | undefined {
  for (let at = start; at + schedule.windowMinutes <= 24 * 60; at += schedule.windowMinutes)
    if (others.every((o) => at + schedule.windowMinutes <= o.startMinute || o.endMinute <= at)) return timeOf(at);
  return undefined;
}

export const maintenanceUpdates: Rule = {
  id: "maintenance.updates",
  description:
    "Each declared update window names a box that updates itself (a router, a NixOS, Debian or Ubuntu host) and ends by midnight, and no two boxes that must not restart together (a router and its jump host, two hosts of one role in a segment) have overlapping windows.",
  check(ix) {
    const lab = ix.lab;
    const { windows, windowMinutes, start, day } = lab.maintenance.updates;
    const ids = updateBoxes(lab).map((b) => b.id);
    const out: Problem[] = [];
    if (minuteOf(start) + windowMinutes > 24 * 60)
      out.push(
        problem(
          { file: LAB_FILE, path: "maintenance.updates.start" },
          start,
          `the first update window (${start}, ${windowMinutes} minutes) runs past midnight`,
          `start at ${timeOf(24 * 60 - windowMinutes)} or earlier, or shorten maintenance.updates.windowMinutes`,
        ),
      );
    for (const [id, time] of Object.entries(windows)) {
      if (!ids.includes(id)) {
        out.push(
          problem(
            windowPath(id),
            time,
            `"${id}" is not a box that updates itself${didYouMean(id, ids)}: those are the routers (by name) and the NixOS, Debian and Ubuntu hosts (<segment>-<host>, infra): ${ids.join(", ")}`,
            "name one of them, or remove the entry",
          ),
        );
        continue;
      }
      if (minuteOf(time) + windowMinutes > 24 * 60)
        out.push(
          problem(
            windowPath(id),
            time,
            `${id}'s update window ${time} runs past midnight (windows are ${windowMinutes} minutes long, all on ${day})`,
            `start it at ${timeOf(24 * 60 - windowMinutes)} or earlier`,
          ),
        );
    }
    if (out.length > 0) return out;
    const schedule = planUpdates(lab);
    for (const { clash, a, b } of overlappingClashes(schedule)) {
      // Reported once, at the box whose window was declared (the later one when both were).
      const [here, there] = b.declared ? [b, a] : [a, b];
      const others = schedule.windows.filter((w) =>
        schedule.clashes.some((c) => (c.a === here.box.id && c.b === w.box.id) || (c.b === here.box.id && c.a === w.box.id)),
      );
      const free = freeWindow(schedule, minuteOf(start), others);
      out.push(
        problem(
          here.declared ? windowPath(here.box.id) : { file: LAB_FILE, path: "maintenance.updates.start" },
          here.declared ? here.start : start,
          `${here.box.id}'s update window (${day} ${here.start}-${here.end}) overlaps ${there.box.id}'s (${there.start}-${there.end}), and they must not restart together: ${clash.why}`,
          free !== undefined
            ? `give ${here.box.id} another window, such as "${free}"`
            : `the day has no free window left: start earlier or shorten maintenance.updates.windowMinutes`,
        ),
      );
    }
    return out;
  },
};
