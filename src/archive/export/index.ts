// Doctor exports: family/<id>/doctor_export_YYYYMMDD.md (+ one SVG chart per summary of readings) and a PDF
// beside it. A second export on the same day gets _2, _3...; every document written is a row in `exports`
// and an audit entry, written inside that change so no export goes unrecorded.

import * as fs from "node:fs";
import * as path from "node:path";
import type { Actor } from "../../access/actor.js";
import type { Db } from "../../storage/db.js";
import { writePrivateFile } from "../../storage/private-fs.js";
import { localDay, todayIn } from "../../time/dates.js";
import { ArchiveError, type FamilyArchive } from "../archive.js";
import { metricChartSvg } from "../charts.js";
import type { Entry } from "../entries.js";
import { idFromName, type Member } from "../members.js";
import { type MetricReading, type MetricSummary, metricSeries } from "../metrics.js";
import { type MemberRecord, memberTimeZone } from "../record-text.js";
import { addDays, GENERATED_MARK, memberFolder, readMemberRecord } from "../render.js";
import { blocksToMarkdown, doctorExportBlocks } from "./markdown.js";

export const EXPORT_FORMATS = ["md", "pdf", "both"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const DEFAULT_SYMPTOM_DAYS = 90;
/** Readings summarised and charted: the last year. */
const METRIC_DAYS = 365;
/** At most this many symptom events are listed (the newest), whatever the window. */
const MAX_SYMPTOMS = 200;
/** A chart shows at most this many points (means of equal runs of readings). */
export const MAX_CHART_POINTS = 150;
/** Individual readings listed under each summary (the newest). */
export const RECENT_READINGS = 10;

/** One summary of readings with what the export shows beside it. */
export interface MeasurementSeries {
  /** Unique within the export: names the chart (file and PDF drawing), even when summaries share a kind. */
  key: string;
  summary: MetricSummary;
  /** Chart points (downsampled readings), oldest first. */
  points: MetricReading[];
  /** The newest readings, newest first, at most RECENT_READINGS. */
  recent: MetricReading[];
}

/** Everything a doctor export shows. */
export interface DoctorExport extends MemberRecord {
  symptomDays: number;
  /** The member's local day the export window starts on (symptoms, stopped medications, review). */
  windowStart: string;
  symptomsInWindow: number;
  /** The symptom events listed: inside the window, newest first, at most MAX_SYMPTOMS. */
  recentSymptoms: Entry<"symptoms">[];
  /** Medications stopped on a local day inside the window, most recently stopped first. */
  stoppedInWindow: Entry<"medications">[];
  metricsSince: string;
  measurements: MeasurementSeries[];
  /** Chart points by measurement key. */
  charts: Map<string, MetricReading[]>;
}

/** Reads what a doctor export of `member` shows, as of `now`. */
export function collectDoctorExport(db: Db, member: Member, now: Date, symptomDays: number): DoctorExport {
  const timeZone = memberTimeZone(member);
  const metricsSince = addDays(todayIn(timeZone, now), -METRIC_DAYS);
  const record = readMemberRecord(db, member, now, metricsSince);
  const windowStart = addDays(record.today, -symptomDays);
  const inWindow = (stamp: string) => localDay(stamp, timeZone) >= windowStart;
  const symptoms = record.symptoms.filter((s) => inWindow(s.onset));
  const stoppedInWindow = record.medications
    .filter((m) => m.state === "stopped" && inWindow(stoppedOn(m)))
    .sort((a, b) => localDay(stoppedOn(b), timeZone).localeCompare(localDay(stoppedOn(a), timeZone)));
  const keys = measurementKeys(record.metrics);
  const measurements = record.metrics.map((summary, i): MeasurementSeries => {
    const readings = summaryReadings(db, member, summary, metricsSince);
    return {
      key: keys[i]!,
      summary,
      points: downsample(readings, MAX_CHART_POINTS),
      recent: readings.slice(-RECENT_READINGS).reverse(),
    };
  });
  return {
    ...record,
    symptomDays,
    windowStart,
    symptomsInWindow: symptoms.length,
    recentSymptoms: symptoms.slice(0, MAX_SYMPTOMS),
    stoppedInWindow,
    metricsSince,
    measurements,
    charts: new Map(measurements.map((m) => [m.key, m.points])),
  };
}

/** When a medication was stopped: its stop date, else when it was recorded as stopped. */
export function stoppedOn(m: Entry<"medications">): string {
  return m.stopDate ?? m.createdAt;
}

/** A summary's readings in the window, oldest first. */
function summaryReadings(db: Db, member: Member, summary: MetricSummary, since: string): MetricReading[] {
  return readingsOfSummary(summary, metricSeries(db, member.id, summary.kind, { since }));
}

/**
 * The readings a summary covers, from its kind's series. Glucose may be summarised per meal context: a
 * summary that carries a `context` (null: readings said without one) takes only the readings in it.
 */
function readingsOfSummary(summary: MetricSummary, series: MetricReading[]): MetricReading[] {
  const context = "context" in summary ? summary.context : undefined;
  if (context === undefined) return series;
  return series.filter((r) => ("context" in r ? (r.context ?? null) : null) === context);
}

/** The kind where it is the only summary of its kind, else kind and label ("glucose_blood_glucose_fasting"). */
export function measurementKeys(summaries: Pick<MetricSummary, "kind" | "label">[]): string[] {
  const keys: string[] = [];
  for (const { kind, label } of summaries) {
    const shared = summaries.filter((s) => s.kind === kind).length > 1;
    const wanted = shared ? `${kind}_${idFromName(label).replaceAll("-", "_")}` : kind;
    let key = wanted;
    for (let n = 2; keys.includes(key); n++) key = `${wanted}_${n}`;
    keys.push(key);
  }
  return keys;
}

/** At most `max` points: each the mean of an equal run of consecutive readings, at the run's middle time. */
export function downsample(readings: MetricReading[], max: number): MetricReading[] {
  if (readings.length <= max) return readings;
  const points: MetricReading[] = [];
  for (let bucket = 0; bucket < max; bucket++) {
    const run = readings.slice(
      Math.floor((bucket * readings.length) / max),
      Math.floor(((bucket + 1) * readings.length) / max),
    );
    const mean = (pick: (r: MetricReading) => number | null) => {
      const values = run.map(pick).filter((v): v is number => v !== null);
      return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
    };
    const middle = run[Math.floor(run.length / 2)]!;
    points.push({
      ...middle,
      value: mean((r) => r.value)!,
      value2: mean((r) => r.value2),
      pulse: mean((r) => r.pulse),
    });
  }
  return points;
}

export interface ExportRequest {
  workspace: string;
  format?: ExportFormat;
  /** Symptom window in days (default 90). */
  days?: number;
  /** Write to this file instead of the member's folder; refuses an existing file; one format only. */
  output?: string;
}

export interface ExportResult {
  member: Member;
  /** Absolute paths of the documents written (Markdown first), charts not included. */
  files: string[];
}

/** Writes a doctor export of one member the actor may see, and records it. Changes nothing on bad input. */
export async function exportMedicalRecord(
  archive: FamilyArchive,
  actor: Actor,
  memberRef: string,
  request: ExportRequest,
): Promise<ExportResult> {
  const format =
    request.format ??
    (request.output?.toLowerCase().endsWith(".pdf") ? "pdf" : request.output ? "md" : "both");
  if (!EXPORT_FORMATS.includes(format)) {
    throw new ArchiveError(`Export format "${format}" is not known; use md, pdf or both.`);
  }
  const days = request.days ?? DEFAULT_SYMPTOM_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > 36500) {
    throw new ArchiveError(`The symptom window must be a whole number of days from 1 to 36500, not ${days}.`);
  }
  if (request.output && format === "both") {
    throw new ArchiveError("An output file holds one format: choose md or pdf with it.");
  }
  const member = archive.member(actor, memberRef);
  const output = request.output ? path.resolve(request.output) : undefined;
  if (output && fs.existsSync(output)) {
    throw new ArchiveError(`${output} already exists; choose another file name (exports never overwrite).`);
  }
  const data = collectDoctorExport(archive.db, member, archive.clock(), days);
  const blocks = doctorExportBlocks(data);
  // pdfkit and its fonts load only when a PDF is asked for, keeping every other command light.
  const pdf =
    format === "md"
      ? undefined
      : await (await import("./pdf.js")).doctorExportPdf(blocks, data.charts, data.timeZone);

  const folder = memberFolder(request.workspace, member.id);
  const files: string[] = [];
  let base: string | undefined;
  const target = (extension: "md" | "pdf") => {
    base ??= output ? output.replace(/\.(md|pdf)$/i, "") : freeBase(folder, data.today.replaceAll("-", ""));
    return output ?? `${base}.${extension}`;
  };
  const record = (kind: "md" | "pdf", write: (file: string) => void) =>
    archive.change(
      actor,
      { action: "export", memberId: member.id, entity: "exports", note: kind },
      (seq, now) => {
        // Named, checked and written under the database's write lock: two exports cannot take the same name.
        const file = target(kind);
        if (fs.existsSync(file)) throw new ArchiveError(`${file} already exists; exports never overwrite.`);
        write(file);
        const relative = path.relative(request.workspace, file);
        const stored = relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
        archive.db
          .prepare(
            "INSERT INTO exports (member_id, file, format, created_at, audit_seq) VALUES (?, ?, ?, ?, ?)",
          )
          .run(member.id, stored, kind, now, seq);
        files.push(file);
      },
    );

  if (format !== "pdf") {
    record("md", (file) => {
      const charts = writeCharts(base!, data);
      writePrivateFile(file, `${GENERATED_MARK}\n${blocksToMarkdown(blocks, (key) => charts.get(key))}`);
    });
  }
  if (pdf) record("pdf", (file) => writePrivateFile(file, pdf));
  return { member, files };
}

/** doctor_export_YYYYMMDD, or _2, _3... when a Markdown or PDF export of that name exists. */
function freeBase(folder: string, stamp: string): string {
  const taken = (base: string) => fs.existsSync(`${base}.md`) || fs.existsSync(`${base}.pdf`);
  const first = path.join(folder, `doctor_export_${stamp}`);
  if (!taken(first)) return first;
  for (let n = 2; ; n++) if (!taken(`${first}_${n}`)) return `${first}_${n}`;
}

/** One SVG per measurement with at least two chart points, beside the export; returns key -> file name. */
function writeCharts(base: string, data: DoctorExport): Map<string, string> {
  const written = new Map<string, string>();
  for (const { key, summary, points } of data.measurements) {
    if (points.length < 2) continue;
    const file = `${base}_${key}.svg`;
    writePrivateFile(file, metricChartSvg(summary, points, { timeZone: data.timeZone }));
    written.set(key, path.basename(file));
  }
  return written;
}
