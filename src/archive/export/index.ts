// Doctor exports: family/<id>/doctor_export_YYYYMMDD.md (+ one SVG chart per kind of reading) and a PDF
// beside it. A second export on the same day gets _2, _3...; every document written is a row in `exports`
// and an audit entry, written inside that change so no export goes unrecorded.

import * as fs from "node:fs";
import * as path from "node:path";
import type { Actor } from "../../access/actor.js";
import type { Db } from "../../storage/db.js";
import { writePrivateFile } from "../../storage/private-fs.js";
import { ArchiveError, type FamilyArchive } from "../archive.js";
import { metricChartSvg } from "../charts.js";
import { todayIn } from "../dates.js";
import type { Entry } from "../entries.js";
import type { Member } from "../members.js";
import { type MetricReading, metricSeries } from "../metrics.js";
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

/** Everything a doctor export shows. */
export interface DoctorExport extends MemberRecord {
  symptomDays: number;
  symptomsInWindow: number;
  /** The symptom events listed: inside the window, newest first, at most MAX_SYMPTOMS. */
  recentSymptoms: Entry<"symptoms">[];
  metricsSince: string;
  /** Chart points per kind (downsampled readings). */
  charts: Map<string, MetricReading[]>;
}

/** Reads what a doctor export of `member` shows, as of `now`. */
export function collectDoctorExport(db: Db, member: Member, now: Date, symptomDays: number): DoctorExport {
  const metricsSince = addDays(todayIn(memberTimeZone(member), now), -METRIC_DAYS);
  const record = readMemberRecord(db, member, now, metricsSince);
  const since = addDays(record.today, -symptomDays);
  const inWindow = record.symptoms.filter((s) => s.onset.slice(0, 10) >= since);
  const charts = new Map(
    record.metrics.map((summary) => [
      summary.kind,
      downsample(metricSeries(db, member.id, summary.kind, { since: metricsSince }), MAX_CHART_POINTS),
    ]),
  );
  return {
    ...record,
    symptomDays,
    symptomsInWindow: inWindow.length,
    recentSymptoms: inWindow.slice(0, MAX_SYMPTOMS),
    metricsSince,
    charts,
  };
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
    format === "md" ? undefined : await (await import("./pdf.js")).doctorExportPdf(blocks, data.charts);

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
      writePrivateFile(file, `${GENERATED_MARK}\n${blocksToMarkdown(blocks, (kind) => charts.get(kind))}`);
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

/** One SVG per kind with at least two readings, beside the export; returns kind -> file name. */
function writeCharts(base: string, data: DoctorExport): Map<string, string> {
  const { charts, timeZone } = data;
  const written = new Map<string, string>();
  for (const summary of data.metrics) {
    const points = charts.get(summary.kind) ?? [];
    if (points.length < 2) continue;
    const file = `${base}_${summary.kind}.svg`;
    writePrivateFile(file, metricChartSvg(summary, points, { timeZone }));
    written.set(summary.kind, path.basename(file));
  }
  return written;
}
