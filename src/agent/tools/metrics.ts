// record_metric and query_metrics: health readings of one member, checked against the person's grants.
import { z } from "zod";
import { REVIEW_STATUSES } from "../../archive/entries.js";
import {
  describeReading,
  describeSummary,
  kindOf,
  latestReadings,
  type MetricReading,
  memberTimeZone,
  recordMetric,
  summariseMetrics,
} from "../../archive/metrics.js";
import type { Db } from "../../storage/db.js";
import { defineTool } from "./tool.js";

export const recordMetricTool = defineTool({
  name: "record_metric",
  description:
    'Save a reading: bp "130/85" or "130/85/pulse", glucose, weight, temperature, heart_rate, spo2, or a new kind with its unit. at: ISO time measured. context (glucose): fasting, before_meal, after_meal, bedtime, random.',
  parameters: z.object({
    member: z.string().min(1),
    kind: z.string().min(1),
    value: z.union([z.string().min(1), z.number()]),
    unit: z.string().optional(),
    at: z.string().optional(),
    note: z.string().optional(),
    status: z.enum(REVIEW_STATUSES).optional(),
    context: z.string().optional(),
  }),
  run({ member: ref, ...input }, { archive, actor }) {
    const { member, reading } = recordMetric(archive, actor, ref, input);
    const label = kindOf(archive.db, reading.kind).label;
    const zone = memberTimeZone(archive.db, member.id);
    return `Saved for ${member.displayName}: ${describeReading(reading, label, zone)}; reading #${reading.id}.`;
  },
});

export const queryMetricsTool = defineTool({
  name: "query_metrics",
  description: "A member's readings: per kind count, latest, min/max/mean, trend; then the newest readings.",
  parameters: z.object({
    member: z.string().min(1),
    kind: z.string().optional(),
    since: z.string().optional(),
    until: z.string().optional(),
    limit: z.number().int().min(1).max(100).optional(),
  }),
  run({ member: ref, kind, since, until, limit }, { archive, actor }) {
    const member = archive.member(actor, ref);
    const db = archive.db;
    const zone = memberTimeZone(db, member.id);
    const range = { since, until };
    const wanted = kind ? kindOf(db, kind).kind : undefined;
    const readings = latestReadings(db, member.id, { ...range, kind, limit: limit ?? 10 });
    const summaries = summariseMetrics(db, member.id, range).filter((s) => !wanted || s.kind === wanted);
    if (summaries.length === 0)
      return `No ${kind ? `${kind} ` : ""}readings for ${member.displayName}${since || until ? " in that range" : ""}.`;
    return [
      `${member.displayName} (times ${zone}):`,
      ...summaries.map((s) => describeSummary(s, zone)),
      "Newest:",
      ...readings.map((r) => readingLine(db, r, zone)),
    ].join("\n");
  },
});

function readingLine(db: Db, r: MetricReading, zone: string): string {
  return `#${r.id} ${describeReading(r, kindOf(db, r.kind).label, zone)}${r.note ? ` (${r.note})` : ""}${r.status === "reported" ? "" : ` [${r.status}]`}`;
}

export const metricTools = [recordMetricTool, queryMetricsTool];
