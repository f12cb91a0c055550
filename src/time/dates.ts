// Dates as the archive stores them: a day (YYYY-MM-DD) or an ISO date-time, checked to be real.

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** A real calendar day or date-time, normalised ("2026-02-30" and "yesterday" are refused). */
export function parseRecordDate(text: string, what: string): string {
  const value = text.trim();
  if (DAY.test(value)) {
    const date = new Date(`${value}T00:00:00Z`);
    if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) {
      throw new RangeError(`${what} "${text}" is not a real date.`);
    }
    return value;
  }
  if (DATE_TIME.test(value)) {
    const date = new Date(value.replace(" ", "T"));
    if (Number.isNaN(date.getTime())) throw new RangeError(`${what} "${text}" is not a real date and time.`);
    return value.replace(" ", "T");
  }
  throw new RangeError(
    `${what} "${text}" must be a date like 2026-03-14 or a date-time like 2026-03-14T08:30.`,
  );
}

/** Today's date (YYYY-MM-DD) in a timezone. */
export function todayIn(timeZone: string, now: Date): string {
  return new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(now);
}

/** True when `zone` is an IANA timezone this runtime knows (like Europe/Berlin). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const clockFormats = new Map<string, Intl.DateTimeFormat>();

/** The wall clock `timeZone` shows at instant `ms`, encoded as if it were UTC (for offsets and formatting). */
export function wallClock(ms: number, timeZone: string): number {
  let format = clockFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    clockFormats.set(timeZone, format);
  }
  const part: Record<string, number> = {};
  for (const p of format.formatToParts(ms)) part[p.type] = Number(p.value);
  return Date.UTC(part.year!, part.month! - 1, part.day!, part.hour!, part.minute!, part.second!);
}

/**
 * The instant at which `timeZone` shows the wall clock `wall` (a UTC-encoded local time). A time skipped by a
 * DST change comes out an hour later, as the clock reads then; a repeated one is its second occurrence.
 */
export function wallToInstant(wall: number, timeZone: string): number {
  const first = wall - (wallClock(wall, timeZone) - Math.floor(wall / 1000) * 1000);
  return wall - (wallClock(first, timeZone) - Math.floor(first / 1000) * 1000);
}

const ZONED = /(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * "YYYY-MM-DD HH:MM" of a stored date or date-time as `timeZone` shows it. A plain day stays a day; a
 * date-time without an offset was entered as the member's wall clock and is shown as written; one with an
 * offset (or Z) is converted. Text that is not a date comes back unchanged.
 */
export function localDateTime(stamp: string, timeZone: string): string {
  const value = stamp.trim();
  if (DAY.test(value) || !DATE_TIME.test(value)) return value;
  if (!ZONED.test(value)) return value.replace("T", " ").slice(0, 16);
  const ms = Date.parse(value.replace(" ", "T").replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
  if (Number.isNaN(ms)) return value;
  return new Date(wallClock(ms, timeZone)).toISOString().slice(0, 16).replace("T", " ");
}

/** The member's local day (YYYY-MM-DD) of a stored date or date-time: what windows are cut by. */
export function localDay(stamp: string, timeZone: string): string {
  return localDateTime(stamp, timeZone).slice(0, 10);
}

let hostZone: string | undefined;

/** The host's IANA timezone (UTC if the runtime does not know it); read once. */
export function hostTimeZone(): string {
  hostZone ??= Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  return hostZone;
}
