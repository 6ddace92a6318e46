/**
 * A backup's schedule and retention as the ledger writes them (`daily 02:30`, `14d`), and what
 * they become: a Proxmox calendar event, a systemd OnCalendar expression, an interval, and the
 * age after which the backup counts as too old (the freshness series' max age).
 */
import { SCHEDULE } from "./schema";

/** A parsed schedule. */
export interface Schedule {
  /** As written: `daily 02:30`. */
  readonly text: string;
  /** Seconds between two runs. */
  readonly seconds: number;
  /** The Proxmox VE calendar event (backup.Job schedule): `02:30`, `sun 03:00`, `hourly`. */
  readonly pve: string;
  /** The systemd OnCalendar expression: `*-*-* 02:30:00`, `Sun *-*-* 03:00:00`, `hourly`. */
  readonly systemd: string;
}

const HOUR = 3600;
const DAY = 24 * HOUR;

/** Parse a schedule the schema accepted. */
export function parseSchedule(text: string): Schedule {
  if (!SCHEDULE.test(text)) throw new Error(`bug: schedule "${text}" was not checked`);
  if (text === "hourly") return { text, seconds: HOUR, pve: "hourly", systemd: "hourly" };
  const parts = text.split(" ");
  if (parts[0] === "daily") return { text, seconds: DAY, pve: parts[1]!, systemd: `*-*-* ${parts[1]!}:00` };
  const day = parts[1]!;
  return { text, seconds: 7 * DAY, pve: `${day} ${parts[2]!}`, systemd: `${day[0]!.toUpperCase()}${day.slice(1)} *-*-* ${parts[2]!}:00` };
}

/** Seconds a retention (`14d`, `8w`) keeps copies for. */
export function retentionSeconds(text: string): number {
  const n = Number(text.slice(0, -1));
  return text.endsWith("w") ? n * 7 * DAY : n * DAY;
}

/**
 * How old the last success may be before the backup counts as too old: one and a half
 * intervals (a daily backup 36 hours), so one run late or slow is not an alert and one run
 * missed is.
 */
export function maxAgeSeconds(intervalSeconds: number): number {
  return Math.round(intervalSeconds * 1.5);
}

/** `14 days`, `8 weeks`, `36 hours`, `90 minutes`: a duration for messages and docs. */
export function showSeconds(s: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (s % (7 * DAY) === 0) return unit(s / (7 * DAY), "week");
  if (s % DAY === 0) return unit(s / DAY, "day");
  if (s % HOUR === 0) return unit(s / HOUR, "hour");
  return unit(Math.round(s / 60), "minute");
}
