/**
 * Automatic updates: which boxes install their own updates and restart (every segment router,
 * Debian or Ubuntu by unattended-upgrades; every NixOS host by system.autoUpgrade), and when.
 * Every window is on one day of the week (maintenance.updates.day), `windowMinutes` long; a box
 * gets the window the owner declares for it, else the first window from `start` that no box it
 * must not restart with has. Two boxes must not restart together when one is a segment's router
 * and the other its jump host (the only way in is through both), or when both are hosts of one
 * role in one segment (they back each other up: two mirror caches, two DMZ service hosts).
 * Pure: the rule maintenance.updates refuses a declared window that clashes.
 */
import { guestTimes } from "./node";
import { LAB_FILE, own, segmentList, type Lab } from "../lab";
import { compareText } from "../order";
import { joinPath } from "../problems";
import type { Weekday } from "./schema";

/** Seconds a router takes to restart until it forwards again: an assumed figure (a Debian mini PC), not declared. */
export const ROUTER_RESTART_SECONDS = 60;
/** Seconds a host that is not a VM takes to restart, when nothing declares it: assumed. */
export const PHYSICAL_RESTART_SECONDS = 120;

/** One box that updates itself. */
export interface UpdateBox {
  /** `lab-fw` (a router's name), `<segment>-<host>`, or `infra`: the key of maintenance.updates.windows. */
  readonly id: string;
  readonly kind: "router" | "host";
  /** How it updates: apt's unattended-upgrades (Debian, Ubuntu) or NixOS system.autoUpgrade. */
  readonly via: "unattended-upgrades" | "nixos-autoupgrade";
  readonly segment: string;
  /** Its VM, when it is one (the VM's name, which is its id). */
  readonly vm?: string;
  /** Seconds a restart costs it: shutdown + boot for a VM, assumed figures otherwise. */
  readonly restartSeconds: number;
}

/** Why two boxes must not restart together. */
export interface UpdateClash {
  readonly a: string;
  readonly b: string;
  readonly why: string;
}

/** When one box updates and may restart. */
export interface UpdateWindow {
  readonly box: UpdateBox;
  readonly day: Weekday;
  /** Minutes after midnight. */
  readonly startMinute: number;
  readonly endMinute: number;
  /** `HH:MM`. */
  readonly start: string;
  readonly end: string;
  /** The owner declared it (maintenance.updates.windows). */
  readonly declared: boolean;
}

/** The lab's update schedule. */
export interface UpdateSchedule {
  readonly day: Weekday;
  readonly windowMinutes: number;
  /** One per box, by start, then id. */
  readonly windows: readonly UpdateWindow[];
  readonly clashes: readonly UpdateClash[];
}

/** `HH:MM` -> minutes after midnight. */
export function minuteOf(time: string): number {
  const [h, m] = time.split(":").map(Number) as [number, number];
  return h * 60 + m;
}

/** Minutes after midnight -> `HH:MM` (24:00 for the end of the day). */
export function timeOf(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
}

/** Every box of the lab that updates itself, by id. */
export function updateBoxes(lab: Lab): UpdateBox[] {
  const out: UpdateBox[] = [];
  const host = (segment: string, name: string, os: string, vm: Parameters<typeof guestTimes>[1] | undefined) => {
    const via = os === "nixos" ? "nixos-autoupgrade" : os === "debian" || os === "ubuntu" ? "unattended-upgrades" : undefined;
    if (!via) return;
    const t = vm ? guestTimes(lab, vm) : undefined;
    out.push({
      id: name,
      kind: "host",
      via,
      segment,
      ...(vm ? { vm: name } : {}),
      restartSeconds: t ? t.shutdownSeconds + t.bootSeconds : PHYSICAL_RESTART_SECONDS,
    });
  };
  host("dmz", "infra", "nixos", lab.dmz.infra.vm);
  for (const seg of segmentList(lab)) {
    out.push({
      id: seg.router.name,
      kind: "router",
      via: "unattended-upgrades",
      segment: seg.name,
      restartSeconds: ROUTER_RESTART_SECONDS,
    });
    for (const [id, h] of Object.entries(seg.hosts)) host(seg.name, `${seg.name}-${id}`, h.os, h.vm);
  }
  return out.sort((a, b) => compareText(a.id, b.id));
}

/** Every pair of boxes that must not restart together, each once (a before b by id). */
export function updateClashes(lab: Lab, boxes: readonly UpdateBox[] = updateBoxes(lab)): UpdateClash[] {
  const ids = new Set(boxes.map((b) => b.id));
  const out = new Map<string, UpdateClash>();
  const add = (x: string, y: string, why: string) => {
    if (!ids.has(x) || !ids.has(y) || x === y) return;
    const [a, b] = [x, y].sort(compareText) as [string, string];
    if (!out.has(`${a} ${b}`)) out.set(`${a} ${b}`, { a, b, why });
  };
  for (const seg of segmentList(lab)) {
    add(
      seg.router.name,
      `${seg.name}-${seg.jumpHost}`,
      `${seg.router.name} is the router of ${seg.name} and ${seg.name}-${seg.jumpHost} its jump host`,
    );
    const byRole = new Map<string, string[]>();
    for (const [id, h] of Object.entries(seg.hosts)) byRole.set(h.role, [...(byRole.get(h.role) ?? []), `${seg.name}-${id}`]);
    for (const [role, members] of byRole) {
      const sorted = [...members].sort(compareText);
      for (let i = 0; i < sorted.length; i++)
        for (let j = i + 1; j < sorted.length; j++)
          add(sorted[i]!, sorted[j]!, `both are ${role} hosts of ${seg.name}, which back each other up`);
    }
  }
  return [...out.values()].sort((x, y) => compareText(x.a, y.a) || compareText(x.b, y.b));
}

/** Whether two windows share a minute. */
const overlaps = (a: { startMinute: number; endMinute: number }, b: { startMinute: number; endMinute: number }) =>
  a.startMinute < b.endMinute && b.startMinute < a.endMinute;

/**
 * The schedule: declared windows first, then every other box, by id, in the first window from
 * `start` (steps of windowMinutes) that overlaps no window of a box it must not restart with.
 */
export function planUpdates(lab: Lab): UpdateSchedule {
  const { day, start, windowMinutes, windows: declared } = lab.maintenance.updates;
  const boxes = updateBoxes(lab);
  const clashes = updateClashes(lab, boxes);
  const neighbours = new Map<string, string[]>();
  for (const c of clashes) {
    neighbours.set(c.a, [...(neighbours.get(c.a) ?? []), c.b]);
    neighbours.set(c.b, [...(neighbours.get(c.b) ?? []), c.a]);
  }
  const placed = new Map<string, UpdateWindow>();
  const windowAt = (box: UpdateBox, startMinute: number, isDeclared: boolean): UpdateWindow => ({
    box,
    day,
    startMinute,
    endMinute: startMinute + windowMinutes,
    start: timeOf(startMinute),
    end: timeOf(startMinute + windowMinutes),
    declared: isDeclared,
  });
  for (const box of boxes) {
    const t = own(declared, box.id);
    if (t !== undefined) placed.set(box.id, windowAt(box, minuteOf(t), true));
  }
  const first = minuteOf(start);
  for (const box of boxes) {
    if (placed.has(box.id)) continue;
    const free = (w: UpdateWindow) =>
      !(neighbours.get(box.id) ?? []).some((n) => {
        const other = placed.get(n);
        return other !== undefined && overlaps(other, w);
      });
    // Windows end by midnight: past it would be another day. A day with no free window left
    // keeps the first one, and the rule maintenance.updates says the day is full.
    let chosen = windowAt(box, first, false);
    for (let at = first; at + windowMinutes <= 24 * 60; at += windowMinutes) {
      const w = windowAt(box, at, false);
      if (free(w)) {
        chosen = w;
        break;
      }
    }
    placed.set(box.id, chosen);
  }
  const windows = [...placed.values()].sort((a, b) => a.startMinute - b.startMinute || compareText(a.box.id, b.box.id));
  return { day, windowMinutes, windows, clashes };
}

/** Where a box's declared window is written. */
export function windowPath(id: string): { file: string; path: string } {
  return { file: LAB_FILE, path: joinPath("maintenance.updates.windows", id) };
}

/** Pairs of boxes that must not restart together and whose windows overlap: for the rule. */
export function overlappingClashes(schedule: UpdateSchedule): { clash: UpdateClash; a: UpdateWindow; b: UpdateWindow }[] {
  const byId = new Map(schedule.windows.map((w) => [w.box.id, w]));
  return schedule.clashes.flatMap((clash) => {
    const a = byId.get(clash.a)!;
    const b = byId.get(clash.b)!;
    return overlaps(a, b) ? [{ clash, a, b }] : [];
  });
}
