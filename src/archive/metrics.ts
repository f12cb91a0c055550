// Health readings (blood pressure, glucose, weight, ... and custom kinds): validated, converted to one unit
// per kind (the value as said kept beside it), stored through the audited archive, and summarised with SQL
// aggregates (glucose per meal context) so years of data stay fast.
import type { Actor } from "../access/actor.js";
import type { Db } from "../storage/db.js";
import { ArchiveError, type FamilyArchive } from "./archive.js";
import { REVIEW_STATUSES, type ReviewStatus } from "./entries.js";
import type { Member } from "./members.js";
import {
  BUILTIN_KINDS,
  builtinKind,
  customKind,
  findKind,
  formatNumber,
  knownKindNames,
  type MetricKindDef,
  newCustomKind,
  parseReading,
} from "./metric-kinds.js";
import { formatLocalTime, parseMeasuredAt, rangeBounds, zoneOf } from "./metric-times.js";
import {
  contextLabel,
  GLUCOSE_CONTEXTS,
  readingContext,
  shownStatistic,
  shownSummaryUnit,
  shownUnitOf,
  shownValues,
} from "./metric-units.js";

export interface MetricInput {
  kind: string;
  value: string | number;
  unit?: string;
  at?: string;
  note?: string;
  status?: ReviewStatus;
  /** Glucose only: fasting, before_meal, after_meal, bedtime, random (or an alias such as 空腹). */
  context?: string;
}

export interface MetricReading {
  id: number;
  memberId: string;
  kind: string;
  value: number;
  value2: number | null;
  pulse: number | null;
  unit: string;
  measuredAt: string;
  note: string | null;
  status: ReviewStatus;
  // The fields below are set on every reading read from the archive; values built elsewhere (chart points,
  // test data) may leave them out and then show as their value and unit.
  /** The value(s) and unit as measured, when not the canonical unit (NULL: the same as value/unit). */
  originalValue?: number | null;
  originalValue2?: number | null;
  originalUnit?: string | null;
  /** A glucose reading's meal context (see GLUCOSE_CONTEXTS). */
  context?: string | null;
  /** The unit the member's household or the member prefers to see this kind in. */
  shownUnit?: string;
}

export interface MetricSummary {
  kind: string;
  /** The kind's label, with the meal context for glucose ("glucose (fasting)"). */
  label: string;
  /** The glucose meal context summarised (null: readings without one); absent on summaries built elsewhere. */
  context?: string | null;
  unit: string;
  /** The unit the statistics are shown in (the preference); the numbers themselves stay canonical. */
  shownUnit?: string;
  count: number;
  from: string;
  to: string;
  latest: MetricReading;
  min: number;
  max: number;
  mean: number;
  min2: number | null;
  max2: number | null;
  mean2: number | null;
  trend: "rising" | "falling" | "steady" | "too few readings";
}

export interface MetricRange {
  since?: string;
  until?: string;
}

const MAX_NOTE = 500;
const READING = `id, member_id AS memberId, kind, value, value2, pulse, unit, measured_at AS measuredAt, note, status,
  original_value AS originalValue, original_value2 AS originalValue2, original_unit AS originalUnit, context`;
const LIVE_IN_RANGE = `member_id = @memberId AND removed_at IS NULL AND measured_at >= @since AND measured_at <= @until`;

/** Statements prepared once per database: recording a reading must stay well under a millisecond. */
function prepareStatements(db: Db) {
  return {
    insert: db.prepare(
      `INSERT INTO metrics (member_id, kind, value, value2, pulse, unit, measured_at, note, status, created_at, audit_seq,
         original_value, original_value2, original_unit, context)
       VALUES (@memberId, @kind, @value, @value2, @pulse, @unit, @measuredAt, @note, @status, @createdAt, @auditSeq,
         @originalValue, @originalValue2, @originalUnit, @context)`,
    ),
    insertKind: db.prepare(
      "INSERT INTO metric_kinds (kind, label, unit, min, max) VALUES (?, ?, ?, NULL, NULL)",
    ),
    byId: db.prepare(`SELECT ${READING}, removed_at AS removedAt FROM metrics WHERE id = ?`),
    remove: db.prepare("UPDATE metrics SET removed_at = ?, removed_reason = ? WHERE id = ?"),
    memberZone: db.prepare("SELECT timezone FROM members WHERE id = ?"),
    customKinds: db.prepare("SELECT kind, label, unit FROM metric_kinds"),
    series: db.prepare(`SELECT ${READING} FROM metrics WHERE ${LIVE_IN_RANGE} AND kind = @kind
       ORDER BY measured_at, id`),
    latestOfKind: db.prepare(`SELECT ${READING} FROM metrics WHERE ${LIVE_IN_RANGE} AND kind = @kind
       ORDER BY measured_at DESC, id DESC LIMIT @limit`),
    latestInContext: db.prepare(`SELECT ${READING} FROM metrics WHERE ${LIVE_IN_RANGE} AND kind = @kind
       AND context IS @context ORDER BY measured_at DESC, id DESC LIMIT 1`),
    latestAll: db.prepare(`SELECT ${READING} FROM metrics WHERE ${LIVE_IN_RANGE}
       ORDER BY measured_at DESC, id DESC LIMIT @limit`),
    // x = days since the kind's first reading in range, so the least-squares sums stay well conditioned.
    // Glucose is summarised per meal context (NULL for every other kind and for glucose said without one).
    aggregates:
      db.prepare(`WITH r AS (SELECT kind, context, value, value2, julianday(measured_at) AS t, measured_at
         FROM metrics WHERE ${LIVE_IN_RANGE}),
       base AS (SELECT kind, context, min(t) AS t0 FROM r GROUP BY kind, context)
       SELECT r.kind AS kind, r.context AS context, count(*) AS n, min(measured_at) AS first, max(measured_at) AS last,
         min(value) AS min, max(value) AS max, avg(value) AS mean,
         min(value2) AS min2, max(value2) AS max2, avg(value2) AS mean2,
         sum(t - t0) AS sx, sum((t - t0) * (t - t0)) AS sxx, sum((t - t0) * value) AS sxy, sum(value) AS sy
       FROM r JOIN base ON base.kind = r.kind AND base.context IS r.context GROUP BY r.kind, r.context`),
  };
}

// Time helpers live in metric-times.ts; callers keep importing them from here, where readings are.
export { formatLocalTime, parseMeasuredAt, rangeBounds, zoneOf };

const cache = new WeakMap<Db, ReturnType<typeof prepareStatements>>();

function statements(db: Db): ReturnType<typeof prepareStatements> {
  let prepared = cache.get(db);
  if (!prepared) {
    prepared = prepareStatements(db);
    cache.set(db, prepared);
  }
  return prepared;
}

/** The time zone a member's readings are entered and shown in: theirs if set, else the host's. */
export function memberTimeZone(db: Db, memberId: string): string {
  const row = statements(db).memberZone.get(memberId) as { timezone: string | null } | undefined;
  return zoneOf(row?.timezone);
}

/** Validates (kind, unit, plausibility), converts to the kind's canonical unit, stores in one audited transaction. Throws ArchiveError naming what is wrong. */
export function recordMetric(
  archive: FamilyArchive,
  actor: Actor,
  memberRef: string,
  input: MetricInput,
): { member: Member; reading: MetricReading } {
  const member = archive.member(actor, memberRef);
  const db = archive.db;
  let def = findKind(db, input.kind);
  const isNewKind = !def;
  if (!def) {
    const unit =
      input.unit?.trim() || /^[-+]?\d+(?:[.,]\d+)?\s*([^\d\s.,].*)$/.exec(String(input.value).trim())?.[1];
    if (!unit) {
      throw new ArchiveError(
        `"${input.kind}" is not a kind of reading yet. Known: ${knownKindNames(db).join(", ")}. To start a new kind, give its unit (e.g. peak_flow in L/min).`,
      );
    }
    def = newCustomKind(input.kind, unit);
  }
  const { original, ...parsed } = parseReading(def, input.value, input.unit);
  const context = readingContext(def, input.context);
  const now = archive.clock();
  const measuredAt = input.at?.trim()
    ? parseMeasuredAt(input.at, zoneOf(member.timezone), now)
    : now.toISOString();
  const note = input.note?.trim() || null;
  if (note && note.length > MAX_NOTE)
    throw new ArchiveError(`The note is longer than ${MAX_NOTE} characters.`);
  const status = input.status ?? "reported";
  if (!REVIEW_STATUSES.includes(status)) {
    throw new ArchiveError(`Status "${status}" must be one of ${REVIEW_STATUSES.join(", ")}.`);
  }
  const kindDef = def;
  const s = statements(db);
  const id = archive.change(
    actor,
    { action: "metric.record", memberId: member.id, entity: "metrics" },
    (auditSeq, createdAt) => {
      if (isNewKind) s.insertKind.run(kindDef.kind, kindDef.label, kindDef.unit);
      const values = { memberId: member.id, kind: kindDef.kind, ...parsed, unit: kindDef.unit, context };
      const said = {
        originalValue: original?.value ?? null,
        originalValue2: original?.value2 ?? null,
        originalUnit: original?.unit ?? null,
      };
      return Number(
        s.insert.run({ ...values, ...said, measuredAt, note, status, createdAt, auditSeq }).lastInsertRowid,
      );
    },
  );
  return { member, reading: readingById(db, id)! };
}

/** Removes a reading (the row stays, stamped with the reason). */
export function removeMetric(
  archive: FamilyArchive,
  actor: Actor,
  memberRef: string,
  id: number,
  reason: string,
): { member: Member; reading: MetricReading } {
  const member = archive.member(actor, memberRef);
  const s = statements(archive.db);
  const row = s.byId.get(id) as (MetricReading & { removedAt: string | null }) | undefined;
  if (!row || row.memberId !== member.id) {
    throw new ArchiveError(`There is no reading #${id} in ${member.displayName}'s record.`);
  }
  if (row.removedAt) throw new ArchiveError(`Reading #${id} was already removed.`);
  if (!reason.trim()) throw new ArchiveError("Removing a reading needs a reason.");
  archive.change(
    actor,
    { action: "metric.remove", memberId: member.id, entity: "metrics", entityId: id },
    (_, now) => s.remove.run(now, reason.trim(), id),
  );
  return { member, reading: readingById(archive.db, id)! };
}

function readingById(db: Db, id: number): MetricReading | undefined {
  const row = statements(db).byId.get(id) as (MetricReading & { removedAt?: string | null }) | undefined;
  if (!row) return undefined;
  delete row.removedAt;
  return shownIn(db, row.memberId, [row])[0];
}

/** Readings of one member as read from SQL, each with the unit its member prefers to see its kind in. */
function shownIn(db: Db, memberId: string, rows: unknown[]): MetricReading[] {
  const units = new Map<string, string>();
  return (rows as MetricReading[]).map((row) => {
    let shown = units.get(row.kind);
    if (shown === undefined) {
      shown = shownUnitOf(db, memberId, row.kind) || row.unit;
      units.set(row.kind, shown);
    }
    row.shownUnit = shown;
    return row;
  });
}

/** The kind definition of a stored kind name (built-in, custom, or unknown data kept as-is). */
export function kindOf(db: Db, kind: string): MetricKindDef {
  return findKind(db, kind) ?? customKind({ kind, label: kind.replace(/_/g, " "), unit: "" });
}

/** The kind a query names; readings stored under a kind without a definition (e.g. imported) still count. */
function requireKind(db: Db, name: string): MetricKindDef {
  const def = findKind(db, name);
  if (def) return def;
  if (db.prepare("SELECT 1 FROM metrics WHERE kind = ? LIMIT 1").get(name)) return kindOf(db, name);
  throw new ArchiveError(`"${name}" is not a kind of reading. Known: ${knownKindNames(db).join(", ")}.`);
}

function bounds(db: Db, memberId: string, range: MetricRange = {}) {
  return { memberId, ...rangeBounds(range, memberTimeZone(db, memberId)) };
}

/** A member's readings of one kind, oldest first, removed ones excluded. */
export function metricSeries(db: Db, memberId: string, kind: string, range?: MetricRange): MetricReading[] {
  const def = requireKind(db, kind);
  return shownIn(db, memberId, statements(db).series.all({ ...bounds(db, memberId, range), kind: def.kind }));
}

/** A member's newest readings (of one kind, or of all), newest first. */
export function latestReadings(
  db: Db,
  memberId: string,
  options: MetricRange & { kind?: string; limit?: number } = {},
): MetricReading[] {
  const params = { ...bounds(db, memberId, options), limit: options.limit ?? 10 };
  const s = statements(db);
  const rows = options.kind
    ? s.latestOfKind.all({ ...params, kind: requireKind(db, options.kind).kind })
    : s.latestAll.all(params);
  return shownIn(db, memberId, rows);
}

interface AggregateRow {
  kind: string;
  context: string | null;
  n: number;
  first: string;
  last: string;
  min: number;
  max: number;
  mean: number;
  min2: number | null;
  max2: number | null;
  mean2: number | null;
  sx: number;
  sxx: number;
  sxy: number;
  sy: number;
}

/**
 * One summary per kind with readings in the range (glucose: per meal context): count, latest, min/max/mean
 * (both BP numbers) and trend.
 */
export function summariseMetrics(db: Db, memberId: string, range?: MetricRange): MetricSummary[] {
  const params = bounds(db, memberId, range);
  const s = statements(db);
  const rows = s.aggregates.all(params) as AggregateRow[];
  const custom = new Map(
    (s.customKinds.all() as { kind: string; label: string; unit: string }[]).map((r) => [
      r.kind,
      customKind(r),
    ]),
  );
  const order = (kind: string) => {
    const index = BUILTIN_KINDS.findIndex((def) => def.kind === kind);
    return index < 0 ? BUILTIN_KINDS.length : index;
  };
  const contextOrder = (context: string | null) =>
    context === null ? GLUCOSE_CONTEXTS.length : GLUCOSE_CONTEXTS.indexOf(context as never);
  rows.sort(
    (a, b) =>
      order(a.kind) - order(b.kind) ||
      a.kind.localeCompare(b.kind) ||
      contextOrder(a.context) - contextOrder(b.context),
  );
  const withContext = new Set(rows.filter((row) => row.context !== null).map((row) => row.kind));
  return rows.map((row) => {
    const def = builtinKind(row.kind) ?? custom.get(row.kind) ?? kindOf(db, row.kind);
    const found = s.latestInContext.get({ ...params, kind: row.kind, context: row.context });
    const latest = shownIn(db, memberId, [found])[0]!;
    // Beside per-context summaries, the readings said without a context are named as such.
    const context = row.context ?? (withContext.has(row.kind) ? "context not given" : null);
    return {
      kind: row.kind,
      label: contextLabel(def.label, context),
      context: row.context,
      unit: def.unit || latest.unit,
      shownUnit: latest.shownUnit ?? latest.unit,
      count: row.n,
      from: row.first,
      to: row.last,
      latest,
      min: row.min,
      max: row.max,
      mean: row.mean,
      min2: row.min2,
      max2: row.max2,
      mean2: row.mean2,
      trend: trendOf(row, def),
    };
  });
}

/** Least-squares slope (per day) times the span of the range, against the kind's threshold. */
function trendOf(row: AggregateRow, def: MetricKindDef): MetricSummary["trend"] {
  if (row.n < 3) return "too few readings";
  const spread = row.n * row.sxx - row.sx * row.sx;
  if (spread <= 1e-12) return "steady";
  const slope = (row.n * row.sxy - row.sx * row.sy) / spread;
  const span = (Date.parse(row.last) - Date.parse(row.first)) / 86_400_000;
  const change = slope * span;
  const threshold = def.trendThreshold ?? Math.max(Math.abs(row.mean) * 0.05, 1e-9);
  if (change >= threshold) return "rising";
  if (change <= -threshold) return "falling";
  return "steady";
}

/** A reading's value as people write it: "142/90", "6.1". */
export function formatMetricValue(reading: Pick<MetricReading, "value" | "value2">): string {
  return reading.value2 === null
    ? formatNumber(reading.value, 3)
    : `${formatNumber(reading.value)}/${formatNumber(reading.value2)}`;
}

/**
 * One reading in words, in the preferred unit with the value as measured beside it when that differs:
 * "blood pressure 142/90 mmHg, pulse 71 at 2026-11-22 08:00", "glucose (fasting) 6.11 mmol/L (110 mg/dL as measured) at …".
 */
export function describeReading(reading: MetricReading, label: string, timeZone: string): string {
  const pulse = reading.pulse === null ? "" : `, pulse ${formatNumber(reading.pulse)}`;
  const shown = shownValues(reading, 3);
  const measured = shown.measured ? ` (${shown.measured} as measured)` : "";
  const what = contextLabel(label, reading.context);
  return `${what} ${shown.value} ${shown.unit}${measured}${pulse} at ${formatLocalTime(reading.measuredAt, timeZone)}`;
}

/** One kind's summary in a line: "blood pressure mmHg: 12 readings 2026-10-01..2026-11-22; latest 142/90 (...); ...". */
export function describeSummary(s: MetricSummary, zone: string): string {
  const span = `${formatLocalTime(s.from, zone).slice(0, 10)}..${formatLocalTime(s.to, zone).slice(0, 10)}`;
  const n = (value: number) => shownStatistic(s, value);
  const range = (min: number, max: number, mean: number) => `min ${n(min)}, max ${n(max)}, mean ${n(mean)}`;
  const stats =
    s.min2 === null || s.max2 === null || s.mean2 === null
      ? range(s.min, s.max, s.mean)
      : `systolic ${range(s.min, s.max, s.mean)}; diastolic ${range(s.min2, s.max2, s.mean2)}`;
  const shown = shownValues(s.latest, 3);
  const measured = shown.measured ? `; ${shown.measured} as measured` : "";
  const latest = `${shown.value} (${formatLocalTime(s.latest.measuredAt, zone)}${measured})`;
  return `${s.label} ${shownSummaryUnit(s)}: ${s.count} reading${s.count === 1 ? "" : "s"} ${span}; latest ${latest}; ${stats}; trend ${s.trend}`;
}
