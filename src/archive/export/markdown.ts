// The doctor export as a list of blocks (headings, lines, a table, charts), and that list as Markdown. The
// PDF lays out the same blocks, so both formats always carry the same content. Empty sections are left out.
import type { Entry } from "../entries.js";
import type { MetricReading } from "../metrics.js";
import {
  adherenceLine,
  CATEGORY_TITLE,
  CLINICAL_FACT_ORDER,
  capitalise,
  factLine,
  formatReading,
  inline,
  medicationDetails,
  metricRange,
  reportTitle,
  STATUS_LABEL,
  symptomLine,
  whenIn,
} from "../record-text.js";
import type { DoctorExport } from "./index.js";
import { patientLines } from "./patient.js";

/** One piece of the document. Texts are Markdown-inline: **bold** and backslash escapes only. */
export type Block =
  | { type: "title"; text: string }
  | { type: "heading"; text: string; alert?: boolean }
  | { type: "subheading"; text: string }
  | { type: "text"; text: string }
  | { type: "item"; text: string }
  | { type: "table"; header: string[]; rows: string[][] }
  | { type: "chart"; key: string; caption: string };

function section(title: string, body: Block[], alert = false): Block[] {
  return body.length ? [{ type: "heading", text: title, alert }, ...body] : [];
}

const items = (texts: string[]): Block[] => texts.map((text) => ({ type: "item", text }));

/** Unconfirmed symptom events listed one by one under "Not yet reviewed"; older ones are counted. */
const PENDING_SYMPTOMS = 20;

/** The export's content, section by section, from the member's record. */
export function doctorExportBlocks(data: DoctorExport): Block[] {
  const { facts, member } = data;
  const factsOf = (category: Entry<"facts">["category"]) =>
    facts.filter((f) => f.category === category).map(factLine);
  const allergies = [
    ...factsOf("drug_allergy").map((text) => `Drug: ${text}`),
    ...factsOf("food_allergy").map((text) => `Food: ${text}`),
  ];
  return [
    { type: "title", text: `Medical summary: ${inline(member.displayName)}` },
    {
      type: "text",
      text: `Prepared by medbot on ${data.generatedAt} from the family's own health records. Entries listed under "Not yet reviewed" were told to medbot or captured from conversation and have not been confirmed.`,
    },
    ...section("Patient", items(patientLines(member, data.today))),
    ...section(
      "Allergies",
      allergies.length ? items(allergies) : [{ type: "text", text: "No allergies recorded." }],
      true,
    ),
    ...CLINICAL_FACT_ORDER.flatMap((category) => section(CATEGORY_TITLE[category], items(factsOf(category)))),
    ...section("Current medications", medicationTable(data.medications.filter((m) => m.state === "active"))),
    ...section(`Medications stopped in the last ${data.symptomDays} days`, stoppedTable(data)),
    ...section("Medication adherence (as recorded)", adherenceItems(data)),
    ...section(symptomTitle(data), items(data.recentSymptoms.map((s) => symptomLine(s, data.timeZone)))),
    ...section("Measurements in the last 12 months", metricBlocks(data)),
    ...section("Reports", reportBlocks(data)),
    ...section("Open questions", items(factsOf("open_question"))),
    ...section("Not yet reviewed", reviewBlocks(data)),
  ];
}

function medicationTable(active: Entry<"medications">[]): Block[] {
  if (active.length === 0) return [];
  const columns = ["Dose", "Route", "Frequency", "Times", "Started", "Reason"] as const;
  const rows = active.map((m) => {
    const details = Object.fromEntries(medicationDetails(m));
    return [`**${inline(m.name)}**`, ...columns.map((column) => details[column] ?? "")];
  });
  const used = columns.filter((_, i) => rows.some((row) => row[i + 1]));
  const keep = [0, ...used.map((column) => columns.indexOf(column) + 1)];
  return [
    {
      type: "table",
      header: ["Medication", ...used.map((c) => (c === "Started" ? "Since" : c))],
      rows: rows.map((row) => keep.map((i) => row[i] ?? "")),
    },
  ];
}

function adherenceItems(data: DoctorExport): Block[] {
  return items(
    data.medications
      .filter((m) => m.state === "active")
      .flatMap((m) => {
        const line = adherenceLine(data, m);
        return line ? [`**${inline(m.name)}**: ${line}`] : [];
      }),
  );
}

function symptomTitle(data: DoctorExport): string {
  const { recentSymptoms, symptomDays, symptomsInWindow } = data;
  const shown =
    symptomsInWindow > recentSymptoms.length
      ? `the latest ${recentSymptoms.length} of ${symptomsInWindow} events`
      : `${symptomsInWindow} event${symptomsInWindow === 1 ? "" : "s"}`;
  return `Symptoms in the last ${symptomDays} days (${shown}, newest first)`;
}

function stoppedTable(data: DoctorExport): Block[] {
  if (data.stoppedInWindow.length === 0) return [];
  return [
    {
      type: "table",
      header: ["Medication", "Dose", "Stopped on", "Reason"],
      rows: data.stoppedInWindow.map((m) => [
        `**${inline(m.name)}**`,
        inline(m.dose ?? ""),
        m.stopDate
          ? whenIn(m.stopDate, data.timeZone)
          : `not recorded (marked stopped ${whenIn(m.createdAt, data.timeZone).slice(0, 10)})`,
        inline(m.reason ?? ""),
      ]),
    },
  ];
}

function metricBlocks(data: DoctorExport): Block[] {
  return data.measurements.flatMap(({ key, summary, recent }): Block[] => {
    const label = inline(capitalise(summary.label));
    const span = `${whenIn(summary.from, data.timeZone).slice(0, 10)} to ${whenIn(summary.to, data.timeZone).slice(0, 10)}`;
    return [
      { type: "subheading", text: label },
      ...items([
        `Latest: **${formatReading(summary.latest)}** (${whenIn(summary.latest.measuredAt, data.timeZone)})`,
        ...(summary.count === 1
          ? ["1 reading"]
          : [`${summary.count} readings, ${span}`, `Range: ${metricRange(summary)}`]),
        ...(summary.trend === "too few readings" ? [] : [`Trend: ${summary.trend}`]),
      ]),
      ...(summary.count > 1
        ? [{ type: "chart" as const, key, caption: `${label} (${inline(summary.unit)}) over time` }]
        : []),
      ...readingsTable(recent, summary.count, data.timeZone),
    ];
  });
}

/** The newest individual readings of a summary, each with its local time and note. */
function readingsTable(recent: MetricReading[], count: number, timeZone: string): Block[] {
  if (recent.length === 0) return [];
  const withNotes = recent.some((r) => r.note);
  return [
    {
      type: "text",
      text:
        recent.length < count
          ? `The latest ${recent.length} of ${count} readings, newest first:`
          : "Each reading, newest first:",
    },
    {
      type: "table",
      header: [`Measured (${inline(timeZone)})`, "Reading", ...(withNotes ? ["Note"] : [])],
      rows: recent.map((r) => [
        whenIn(r.measuredAt, timeZone),
        inline(formatReading(r)),
        ...(withNotes ? [inline(r.note ?? "")] : []),
      ]),
    },
  ];
}

function reportBlocks(data: DoctorExport): Block[] {
  return data.reports.flatMap((r): Block[] => [
    { type: "subheading", text: `${r.reportDate ? `${r.reportDate}: ` : ""}${inline(r.title)}` },
    ...(r.summary.trim() ? [{ type: "text" as const, text: inline(r.summary) }] : []),
    ...items(r.keyValues.map(inline)),
  ]);
}

/**
 * What nobody has confirmed yet, among what this export shows: one short line per entry (the full entry is
 * in its own section above), symptoms from the window only, readings counted per kind.
 */
function reviewBlocks(data: DoctorExport): Block[] {
  const pending = <T extends { status: Entry<"facts">["status"] }>(entries: T[]) =>
    entries.filter((e) => e.status !== "confirmed");
  const tag = (e: { status: Entry<"facts">["status"] }) => ` (${STATUS_LABEL[e.status]})`;
  const symptoms = pending(data.recentSymptoms);
  const texts = [
    ...pending(data.facts).map((f) => `${CATEGORY_TITLE[f.category]}: **${inline(f.text)}**${tag(f)}`),
    ...pending(data.medications)
      .filter((m) => m.state === "active" || data.stoppedInWindow.includes(m))
      .map((m) => `Medication: **${inline(m.name)}**${tag(m)}`),
    ...symptoms
      .slice(0, PENDING_SYMPTOMS)
      .map((s) => `Symptom: ${whenIn(s.onset, data.timeZone)} **${inline(s.name)}**${tag(s)}`),
    ...(symptoms.length > PENDING_SYMPTOMS
      ? [`… and ${symptoms.length - PENDING_SYMPTOMS} older symptom events`]
      : []),
    ...pending(data.reports).map((r) => `Report: ${reportTitle(r)}${tag(r)}`),
    ...data.pendingMetrics.map((m) => `${m.count} ${inline(m.label)} reading${m.count === 1 ? "" : "s"}`),
  ];
  return texts.length
    ? [
        {
          type: "text",
          text: "Reported to medbot or captured from conversation; nobody has confirmed these yet.",
        },
        ...items(texts),
      ]
    : [];
}

/** The blocks as Markdown; `chartFile(key)` names the SVG beside the export (no chart if undefined). */
export function blocksToMarkdown(blocks: Block[], chartFile: (key: string) => string | undefined): string {
  const out: string[] = [];
  let previous: Block["type"] | undefined;
  for (const block of blocks) {
    if (previous === "item" && block.type !== "item") out.push("");
    switch (block.type) {
      case "title":
        out.push(`# ${block.text}`, "");
        break;
      case "heading":
        out.push(`## ${block.text}`, "");
        break;
      case "subheading":
        out.push(`### ${block.text}`, "");
        break;
      case "text":
        out.push(block.text, "");
        break;
      case "item":
        out.push(`- ${block.text}`);
        break;
      case "table":
        out.push(
          `| ${block.header.join(" | ")} |`,
          `|${block.header.map(() => " --- |").join("")}`,
          ...block.rows.map((row) => `| ${row.join(" | ")} |`),
          "",
        );
        break;
      case "chart": {
        const file = chartFile(block.key);
        if (file) out.push(`![${block.caption}](${encodeURI(file)})`, "");
        break;
      }
    }
    previous = block.type;
  }
  return `${out.join("\n").trimEnd()}\n`;
}
