/**
 * Temporary holes: a service or an explicit flow may carry `until:`, a date and time with a
 * timezone, after which it is closed. The firewall that enforces it closes it by itself at that
 * second (render/nftables.ts matches `meta time`, so a router nobody touches, or one that
 * rebooted from an old ruleset, stops forwarding it anyway); check warns the day before and
 * refuses it once it has passed, so the config does not keep a hole that is no longer open.
 */
import type { Verdict } from "../values";

/** A hole's deadline, as written and as the instant it names. */
export interface Deadline {
  /** As the owner wrote it, e.g. `2026-12-06T02:00+01:00`. */
  readonly text: string;
  /** The instant, in whole seconds since the epoch (what nft's `meta time` compares). */
  readonly epoch: number;
  /** For sentences and docs: `2026-12-06 02:00 +01:00`, or `… UTC` for `Z`. */
  readonly display: string;
}

/** How long before its deadline check starts to warn about a hole, in seconds. */
export const UNTIL_WARNING_SECONDS = 24 * 3600;

const UNTIL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})$/;

/** The fix every malformed `until` gets. */
const UNTIL_FIX = 'write a date, a time and its timezone, such as "2026-12-06T02:00+01:00" or "2026-12-06T01:00Z"';

/** The instant `text` names, or why it names none. */
export function parseUntil(text: string): Deadline | { readonly problem: string } {
  const m = UNTIL.exec(text);
  if (!m) {
    const zoneless = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?$/.test(text);
    return {
      problem: zoneless
        ? "must name its timezone: without one, the firewall and whoever reads it could each read another hour"
        : "must be a date and time with a timezone (YYYY-MM-DDTHH:MM, then Z or an offset such as +01:00)",
    };
  }
  const [, y, mo, d, h, mi, s, zone] = m as unknown as [string, string, string, string, string, string, string | undefined, string];
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? "0"));
  const check = new Date(local);
  // Date.UTC rolls 2026-02-30 over to March: a date that does not exist is refused, not moved.
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s ?? "0") > 59
  ) {
    return { problem: `names no such time: ${y}-${mo}-${d} ${h}:${mi}${s ? `:${s}` : ""} does not exist` };
  }
  const offset = zone === "Z" ? 0 : (zone.startsWith("-") ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  if (Math.abs(offset) > 14 * 60) return { problem: `has the offset ${zone}: no timezone is more than 14 hours from UTC` };
  const epoch = (local - offset * 60_000) / 1000;
  return { text, epoch, display: `${y}-${mo}-${d} ${h}:${mi}${s ? `:${s}` : ""} ${zone === "Z" ? "UTC" : zone}` };
}

/** The schema's verdict on an `until` value. */
export function untilVerdict(text: string): Verdict {
  const parsed = parseUntil(text);
  return "problem" in parsed ? { message: parsed.problem, fix: UNTIL_FIX } : undefined;
}

/** The deadline of a schema-valid `until`, or none. */
export function deadlineOf(text: string | undefined): Deadline | undefined {
  if (text === undefined) return undefined;
  const parsed = parseUntil(text);
  return "problem" in parsed ? undefined : parsed;
}

/** `{ until }` for a spread, or nothing: a plan carries the key only for a temporary hole. */
export function untilOf(text: string | undefined): { readonly until?: Deadline } {
  const until = deadlineOf(text);
  return until ? { until } : {};
}

/** The later of two deadlines where both bound something; none (for good) wins over any. */
export function laterDeadline(a: Deadline | undefined, b: Deadline | undefined): Deadline | undefined {
  if (!a || !b) return undefined;
  return a.epoch >= b.epoch ? a : b;
}

/** `kept` merged with `other` (the same rule or DNAT from another flow): open as long as the longer-lived of the two. */
export function withLaterDeadline<T extends { readonly until?: Deadline }>(kept: T, other: { readonly until?: Deadline }): T {
  const { until: _was, ...rest } = kept;
  const until = laterDeadline(kept.until, other.until);
  return { ...rest, ...(until ? { until } : {}) } as T;
}

/** `3 h 20 min`, `45 min`, `2 days`: how far away an instant is, for messages. */
export function spanText(seconds: number): string {
  const s = Math.abs(seconds);
  if (s >= 2 * 86_400) return `${Math.floor(s / 86_400)} days`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h === 0) return `${Math.max(m, 1)} min`;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}
