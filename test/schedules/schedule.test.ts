// Schedules in an IANA timezone: validation with errors naming the field, and occurrences across DST changes.
import { describe, expect, it } from "vitest";
import {
  nextOccurrence,
  occurrencesBetween,
  parseAt,
  parseSchedule,
  type Schedule,
  ScheduleError,
} from "../../src/schedules/schedule.js";

const BERLIN = "Europe/Berlin";
const NOW = new Date("2026-03-01T12:00:00Z");
const iso = (dates: readonly (Date | undefined)[]) => dates.map((d) => d?.toISOString());

function cron(spec: string, timezone = BERLIN): Schedule {
  return parseSchedule({ cron: spec }, timezone, NOW);
}

describe("parseSchedule", () => {
  it("reads an at without offset as wall-clock time in the job's timezone", () => {
    expect(parseSchedule({ at: "2026-06-03T08:30" }, BERLIN, NOW).spec).toBe("2026-06-03T06:30:00.000Z");
    expect(parseSchedule({ at: "2026-12-03 08:30" }, BERLIN, NOW).spec).toBe("2026-12-03T07:30:00.000Z");
    expect(parseSchedule({ at: "2026-06-03T08:30:00+08:00" }, BERLIN, NOW).spec).toBe(
      "2026-06-03T00:30:00.000Z",
    );
    // What toISOString() and most programs write: fractional seconds.
    expect(parseSchedule({ at: "2026-06-03T06:30:05.250Z" }, BERLIN, NOW).spec).toBe(
      "2026-06-03T06:30:05.250Z",
    );
  });

  it("refuses each kind of bad input with the field and an example", () => {
    const refusal = (input: Parameters<typeof parseSchedule>[0], zone = BERLIN) => {
      try {
        parseSchedule(input, zone, NOW);
      } catch (error) {
        expect(error).toBeInstanceOf(ScheduleError);
        return (error as Error).message;
      }
      throw new Error("accepted");
    };
    expect(refusal({})).toMatch(/exactly one of at .*got none/);
    expect(refusal({ at: "2026-06-03T08:30", every: "2h" })).toMatch(/got at and every/);
    expect(refusal({ at: "2026-02-30T08:00" })).toMatch(
      /at "2026-02-30T08:00" must be a real date-time like/,
    );
    expect(refusal({ at: "tomorrow" })).toMatch(/^at "tomorrow"/);
    expect(refusal({ at: "2026-02-01T08:00" })).toMatch(/is in the past \(it is now 2026-03-01 13:00/);
    expect(refusal({ every: "0m" })).toMatch(/every "0m" must be .* like 30m, 2h or 3d/);
    expect(refusal({ every: "90s" })).toMatch(/^every "90s"/);
    expect(refusal({ cron: "0 25 * * *" })).toMatch(/cron "0 25 \* \* \*" is not a valid five-field .*hour/);
    expect(refusal({ cron: "0 0 8 * * *" })).toMatch(/five-field/);
    expect(refusal({ cron: "0 0 30 2 *" })).toMatch(/never runs/);
    expect(refusal({ cron: "0 8 * * *" }, "Mars/Olympus")).toMatch(
      /timezone "Mars\/Olympus" .*Europe\/Berlin/,
    );
  });

  it("normalises every and cron specs", () => {
    expect(parseSchedule({ every: " 2 h " }, BERLIN, NOW).spec).toBe("2h");
    expect(cron("0  8 * *   1").spec).toBe("0 8 * * 1");
  });
});

describe("occurrences across daylight saving time (Europe/Berlin)", () => {
  it("a daily 08:00 job fires at 07:00Z in winter and 06:00Z in summer", () => {
    const daily = cron("0 8 * * *");
    const runs = occurrencesBetween(daily, new Date("2026-03-27T12:00Z"), new Date("2026-03-31T00:00Z"), NOW);
    expect(iso(runs)).toEqual([
      "2026-03-28T07:00:00.000Z",
      "2026-03-29T06:00:00.000Z",
      "2026-03-30T06:00:00.000Z",
    ]);
  });

  it("a 02:30 job fires once on the spring-forward day (moved to 03:00 CEST)", () => {
    const job = cron("30 2 * * *");
    const day = occurrencesBetween(job, new Date("2026-03-28T22:00Z"), new Date("2026-03-29T22:00Z"), NOW);
    expect(iso(day)).toEqual(["2026-03-29T01:00:00.000Z"]);
    expect(nextOccurrence(job, new Date("2026-03-28T22:00Z"), NOW)?.toISOString()).toBe(
      "2026-03-29T01:00:00.000Z",
    );
  });

  it("a 02:30 job fires once, not twice, on the fall-back day", () => {
    const job = cron("30 2 * * *");
    const day = occurrencesBetween(job, new Date("2026-10-24T22:00Z"), new Date("2026-10-25T23:00Z"), NOW);
    expect(iso(day)).toEqual(["2026-10-25T00:30:00.000Z"]);
  });

  it("an at in the spring-forward gap lands after the gap, an at in the repeated hour on its first pass", () => {
    expect(parseAt("2026-03-29T02:30", BERLIN).toISOString()).toBe("2026-03-29T01:30:00.000Z");
    expect(parseAt("2026-10-25T02:30", BERLIN).toISOString()).toBe("2026-10-25T00:30:00.000Z");
  });
});

describe("occurrences", () => {
  const created = new Date("2026-03-01T12:00:00Z");

  it("an every job runs at creation + k·interval, never before its creation", () => {
    const every = parseSchedule({ every: "15m" }, BERLIN, created);
    expect(nextOccurrence(every, new Date("2026-01-01T00:00Z"), created)?.toISOString()).toBe(
      "2026-03-01T12:15:00.000Z",
    );
    expect(nextOccurrence(every, new Date("2026-03-01T12:15Z"), created)?.toISOString()).toBe(
      "2026-03-01T12:30:00.000Z",
    );
    const runs = occurrencesBetween(
      every,
      new Date("2026-01-01T00:00Z"),
      new Date("2026-03-01T13:00Z"),
      created,
    );
    expect(iso(runs)).toEqual([
      "2026-03-01T12:15:00.000Z",
      "2026-03-01T12:30:00.000Z",
      "2026-03-01T12:45:00.000Z",
      "2026-03-01T13:00:00.000Z",
    ]);
  });

  it("a window is (from, to]: a run exactly at `from` belongs to the window before", () => {
    const daily = cron("0 8 * * *");
    const at = new Date("2026-03-05T07:00:00Z");
    expect(iso(occurrencesBetween(daily, at, new Date("2026-03-05T08:00Z"), created))).toEqual([]);
    expect(iso(occurrencesBetween(daily, new Date("2026-03-05T06:00Z"), at, created))).toEqual([
      at.toISOString(),
    ]);
  });

  it("a long window lists only the latest occurrences, oldest first", () => {
    const every = parseSchedule({ every: "1m" }, BERLIN, created);
    const month = occurrencesBetween(every, created, new Date("2026-04-01T12:00Z"), created, 3);
    expect(iso(month)).toEqual([
      "2026-04-01T11:58:00.000Z",
      "2026-04-01T11:59:00.000Z",
      "2026-04-01T12:00:00.000Z",
    ]);
    const minutely = occurrencesBetween(
      cron("* * * * *"),
      created,
      new Date("2026-04-01T12:00Z"),
      created,
      2,
    );
    expect(iso(minutely)).toEqual(["2026-04-01T11:59:00.000Z", "2026-04-01T12:00:00.000Z"]);
  });

  it("a one-off at is due once, then never again", () => {
    const once = parseSchedule({ at: "2026-03-02T08:00" }, BERLIN, created);
    expect(nextOccurrence(once, created, created)?.toISOString()).toBe("2026-03-02T07:00:00.000Z");
    expect(nextOccurrence(once, new Date("2026-03-02T07:00Z"), created)).toBeUndefined();
  });
});
