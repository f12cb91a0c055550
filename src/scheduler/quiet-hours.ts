// Quiet hours: a daily span of wall-clock time (e.g. 22:00–07:00, across midnight) in one person's
// timezone during which the heartbeat neither runs nor sends.
import { Cron } from "croner";
import type { MedbotConfig } from "../config/schema.js";
import { wallClock } from "../time/dates.js";

export type QuietHours = NonNullable<MedbotConfig["heartbeat"]["quietHours"]>;

/** Minutes since local midnight of `at` in `timeZone`. */
function minuteOfDay(at: Date, timeZone: string): number {
  const wall = wallClock(at.getTime(), timeZone);
  return Math.floor((wall % 86_400_000) / 60_000);
}

function minutesOf(time: string): number {
  const [hours, minutes] = time.split(":").map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
}

/** True when `at` falls inside the quiet hours in `timeZone`; start == end means no quiet time at all. */
export function isQuiet(quiet: QuietHours | null, at: Date, timeZone: string): boolean {
  if (!quiet) return false;
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  const now = minuteOfDay(at, timeZone);
  // A span like 22:00–07:00 crosses midnight: quiet late in the evening or early in the morning.
  return start < end ? now >= start && now < end : start > end && (now >= start || now < end);
}

/** The first instant after `at` when the local clock reads `time` (DST-aware: a skipped time moves on). */
export function nextLocalTime(time: string, at: Date, timeZone: string): Date {
  const [hours, minutes] = time.split(":");
  const next = new Cron(`${Number(minutes)} ${Number(hours)} * * *`, { timezone: timeZone }).nextRun(at);
  if (!next) throw new Error(`no next ${time} in ${timeZone} after ${at.toISOString()}`);
  return next;
}

/** When the quiet period `at` lies in ends; `at` itself when it is not quiet. */
export function quietEnd(quiet: QuietHours | null, at: Date, timeZone: string): Date {
  if (!quiet || !isQuiet(quiet, at, timeZone)) return at;
  return nextLocalTime(quiet.end, at, timeZone);
}
