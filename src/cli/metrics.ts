// `medbot metrics add|list|chart|units`: readings from the terminal, as the model's record_metric and
// query_metrics tools keep and show them.
import * as path from "node:path";
import type { Command } from "commander";
import { hostOwner } from "../access/actor.js";
import { metricChartSvg } from "../archive/charts.js";
import { memberUnits, setMemberUnits } from "../archive/metric-units.js";
import {
  describeReading,
  describeSummary,
  kindOf,
  memberTimeZone,
  metricSeries,
  recordMetric,
  summariseMetrics,
} from "../archive/metrics.js";
import { writePrivateFile } from "../storage/private-fs.js";
import { withArchive } from "./archive-session.js";
import { CliFailure, type GlobalOptions } from "./startup.js";

interface AddOptions extends GlobalOptions {
  unit?: string;
  at?: string;
  note?: string;
  context?: string;
}

interface ListOptions extends GlobalOptions {
  kind?: string;
  since?: string;
  until?: string;
  json?: boolean;
}

/** Adds `medbot metrics add|list|chart|units`. */
export function registerMetrics(program: Command): void {
  const metrics = program.command("metrics").description("health readings: add, list, chart, units");

  metrics
    .command("add <member> <kind> <value>")
    .description(
      "record a reading, e.g. `bp 130/85`, `bp 130/85/72` (with pulse), `glucose 6.1 --unit mmol/L`",
    )
    .option("--unit <unit>", "unit of the value (converted to the kind's unit)")
    .option("--at <time>", "when it was measured (ISO date-time or date; default now)")
    .option("--note <text>", "a note kept with the reading")
    .option(
      "--context <when>",
      "glucose: fasting, before_meal, after_meal, bedtime or random (空腹, 餐前, 餐后, 睡前)",
    )
    .action(async (member: string, kind: string, value: string, _options, command: Command) => {
      const options = command.optsWithGlobals<AddOptions>();
      const line = await withArchive(options, ({ archive }) => {
        const { unit, at, note, context } = options;
        const input = { kind, value, unit, at, note, context };
        const saved = recordMetric(archive, hostOwner("cli"), member, input);
        const zone = memberTimeZone(archive.db, saved.member.id);
        const label = kindOf(archive.db, saved.reading.kind).label;
        return `Saved for ${saved.member.displayName}: ${describeReading(saved.reading, label, zone)} (reading #${saved.reading.id}).`;
      });
      process.stdout.write(`${line}\n`);
    });

  metrics
    .command("list <member>")
    .description("a member's readings, oldest first, with count, latest, min/max/mean and trend per kind")
    .option("--kind <kind>", "only this kind")
    .option("--since <date>", "from this date or time on")
    .option("--until <date>", "up to this date (the whole day) or time")
    .option("--json", "machine-readable output")
    .action(async (member: string, _options, command: Command) => {
      const options = command.optsWithGlobals<ListOptions>();
      const text = await withArchive(options, ({ archive }) => {
        const who = archive.member(hostOwner("cli"), member);
        const db = archive.db;
        const zone = memberTimeZone(db, who.id);
        const range = { since: options.since, until: options.until };
        const only = options.kind ? kindOf(db, options.kind).kind : undefined;
        if (options.kind) metricSeries(db, who.id, options.kind, range);
        const kinds = summariseMetrics(db, who.id, range)
          .filter((summary) => !only || summary.kind === only)
          .map((summary) => ({
            ...summary,
            readings: metricSeries(db, who.id, summary.kind, range).filter(
              (r) => r.context === summary.context,
            ),
          }));
        if (options.json) {
          const body = { member: { id: who.id, displayName: who.displayName }, timeZone: zone, kinds };
          return JSON.stringify(body, null, 2);
        }
        if (kinds.length === 0) return `No readings for ${who.displayName}.`;
        return [
          `${who.displayName} (times ${zone})`,
          ...kinds.flatMap((k) => [
            describeSummary(k, zone),
            ...k.readings.map(
              (r) =>
                `  #${r.id} ${describeReading(r, kindOf(db, r.kind).label, zone)}${r.note ? ` (${r.note})` : ""}`,
            ),
          ]),
        ].join("\n");
      });
      process.stdout.write(`${text}\n`);
    });

  metrics
    .command("units <member> [preferences...]")
    .description(
      "the units a member's readings are shown and exported in, e.g. `glucose=mg/dL weight=lb`; `glucose=default` clears one; none: show them",
    )
    .action(async (member: string, preferences: string[], _options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const text = await withArchive(options, ({ archive }) => {
        const owner = hostOwner("cli");
        const pairs = preferences.map((pair) => {
          const match = /^([^=\s]+)=(\S+)$/.exec(pair.trim());
          if (!match)
            throw new CliFailure(`"${pair}" must be KIND=UNIT, like glucose=mg/dL or weight=default.`);
          return [match[1]!, match[2]!] as const;
        });
        const who = archive.member(owner, member);
        const units = pairs.length
          ? setMemberUnits(archive, owner, who.id, Object.fromEntries(pairs)).units
          : memberUnits(archive.db, who.id);
        const shown = Object.entries(units).map(([kind, unit]) => `${kind}=${unit}`);
        const what = shown.length
          ? shown.join(" ")
          : "none (the household's archive.units, else each kind's own unit)";
        return `${pairs.length ? "Saved for" : "Units for"} ${who.displayName}: ${what}`;
      });
      process.stdout.write(`${text}\n`);
    });

  metrics
    .command("chart <member> <kind>")
    .description("write an SVG chart of one kind (default family/<id>/charts/<kind>.svg in the workspace)")
    .option("-o, --output <file>", "where to write the SVG")
    .action(async (member: string, kind: string, _options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { output?: string }>();
      const file = await withArchive(options, ({ archive }, { workspace }) => {
        const who = archive.member(hostOwner("cli"), member);
        const def = kindOf(archive.db, kind);
        const readings = metricSeries(archive.db, who.id, kind);
        if (readings.length === 0)
          throw new CliFailure(`${who.displayName} has no ${def.label} readings to chart.`);
        const svg = metricChartSvg(def, readings, { timeZone: memberTimeZone(archive.db, who.id) });
        const target = options.output
          ? path.resolve(options.output)
          : path.join(workspace, "family", who.id, "charts", `${def.kind}.svg`);
        writePrivateFile(target, svg);
        return target;
      });
      process.stdout.write(`${file}\n`);
    });
}
