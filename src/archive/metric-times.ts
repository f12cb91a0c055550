// When readings were measured: stored as ISO UTC; entered and shown as wall-clock time in the member's zone
// (else the host's), and the bounds of a queried range.

import { hostTimeZone, wallClock, wallToInstant } from "../time/dates.js";
import { ArchiveError } from "./archive.js";
import type { MetricRange } from "./metrics.js";

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;
const FUTURE_TOLERANCE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;
/** A usable IANA zone: the given one if valid, else the host's. */
export function zoneOf(timeZone?: string | null): string {
  if (timeZone) {
    try {
      wallClock(0, timeZone);
      return timeZone;
    } catch {
      // An invalid stored zone falls back to the host's rather than failing every reading.
    }
  }
  return hostTimeZone();
}

/** "2026-11-22 08:00" in `timeZone`. */
export function formatLocalTime(iso: string, timeZone: string): string {
  return new Date(wallClock(Date.parse(iso), timeZone)).toISOString().slice(0, 16).replace("T", " ");
}

function parseInstant(text: string, timeZone: string, what: string): { ms: number; dateOnly: boolean } {
  const m = DATE_TIME.exec(text.trim());
  const n = (i: number) => Number(m?.[i] ?? 0);
  const wall = m
    ? Date.UTC(n(1), n(2) - 1, n(3), n(4), n(5), n(6), Number((m[7] ?? "0").padEnd(3, "0")))
    : NaN;
  const real =
    m && new Date(wall).toISOString().slice(0, 10) === `${m[1]}-${m[2]}-${m[3]}` && n(4) < 24 && n(5) < 60;
  if (!m || !real || n(6) >= 60) {
    throw new ArchiveError(
      `${what} "${text}" must be a real date like 2026-03-14 or an ISO date-time like 2026-03-14T08:30.`,
    );
  }
  const zone = m[8]?.toUpperCase();
  if (!zone) return { ms: wallToInstant(wall, timeZone), dateOnly: m[4] === undefined };
  const offset =
    zone === "Z" ? 0 : (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
  return { ms: wall - offset * 60_000, dateOnly: false };
}

/** When a reading was taken, as ISO UTC; refuses times in the future (beyond a few minutes) and before 1900. */
export function parseMeasuredAt(text: string, timeZone: string, now: Date): string {
  const { ms } = parseInstant(text, timeZone, "The measurement time");
  if (ms > now.getTime() + FUTURE_TOLERANCE_MS) {
    throw new ArchiveError(
      `The measurement time "${text}" is in the future (it is now ${formatLocalTime(now.toISOString(), timeZone)} ${timeZone}); give when it was measured.`,
    );
  }
  if (ms < Date.UTC(1900, 0, 1)) throw new ArchiveError(`The measurement time "${text}" is before 1900.`);
  return new Date(ms).toISOString();
}

/** ISO bounds for a query: a date alone means its whole day (since its start, until its end). */
export function rangeBounds(range: MetricRange, timeZone: string): { since: string; until: string } {
  const since = range.since?.trim()
    ? parseInstant(range.since, timeZone, "since").ms
    : Date.parse("0001-01-01T00:00:00Z");
  let until = Date.UTC(9999, 11, 31);
  if (range.until?.trim()) {
    const end = parseInstant(range.until, timeZone, "until");
    until = end.dateOnly ? wallToInstant(wallClock(end.ms, timeZone) + DAY_MS, timeZone) - 1 : end.ms;
  }
  if (since > until) throw new ArchiveError(`"since" (${range.since}) is after "until" (${range.until}).`);
  return { since: new Date(since).toISOString(), until: new Date(until).toISOString() };
}
