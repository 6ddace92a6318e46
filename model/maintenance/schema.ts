/**
 * The maintenance domain's part of the schema: `maintenance` in `homelab.yaml`, when the boxes
 * that update themselves (routers, jump hosts, Debian and NixOS hosts) install their updates
 * and restart.
 */
import { z } from "zod";
import { Name, obj } from "../schema-kit";
import { pattern } from "../values";

/** The days of the week, as systemd calendar events and NixOS `dates` spell them. */
export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A time of day, `HH:MM` on the 24-hour clock, in the lab's time zone. */
export const TimeOfDay = pattern(
  /^([01][0-9]|2[0-3]):[0-5][0-9]$/,
  'must be a time of day "HH:MM" on the 24-hour clock, such as "03:30"',
  'write the hour and minute with two digits each, such as "03:30"',
);

/** When automatic updates run: one window per box, each box's on the same day, staggered. */
export const Updates = obj({
  /** The day of the week every update window is on. @default "Sun" */
  day: z.enum(WEEKDAYS).default("Sun"),
  /** When the first window opens, in the lab's time zone. @default "03:00" */
  start: TimeOfDay.default("03:00"),
  /**
   * Minutes one box's window lasts: its update and its restart finish within it, and boxes that
   * must not restart together get different windows. @default 30
   */
  windowMinutes: z.number().int().min(10).max(180).default(30),
  /**
   * Boxes whose window opens at a time of their choice, by box id (a router's name such as
   * `lab-fw`, a host as `<segment>-<host>`, the DMZ's `infra`): `"04:00"`. Every other box gets
   * the first window none of the boxes it must not restart with has. @default {}
   */
  windows: z.record(Name, TimeOfDay).default({}),
});

/** `maintenance` in homelab.yaml. */
export const Maintenance = obj({
  /** @default every field's own default */
  updates: Updates.prefault({}),
});
export type Maintenance = z.infer<typeof Maintenance>;
