import { type Command, Option } from "commander";
import { hostOwner } from "../access/actor.js";
import { EXPORT_FORMATS, type ExportFormat, exportMedicalRecord } from "../archive/export/index.js";
import { withArchive } from "./archive-session.js";
import { CliFailure, type GlobalOptions } from "./startup.js";

interface ExportOptions extends GlobalOptions {
  format?: ExportFormat;
  output?: string;
  days?: string;
}

/** Registers `medbot export`. */
export function registerExport(program: Command): void {
  program
    .command("export <member>")
    .description("write a doctor export of a member (Markdown and PDF) and print the paths written")
    .addOption(
      new Option(
        "-f, --format <format>",
        "md, pdf or both (default both; with -o, from its extension)",
      ).choices(EXPORT_FORMATS),
    )
    .option("-o, --output <path>", "write to this file instead of the member's folder (never overwrites)")
    .option("--days <n>", "how many days of symptoms and stopped medications to include", "90")
    .action(async (member: string, _options, command: Command) => {
      const options = command.optsWithGlobals<ExportOptions>();
      const days = Number(options.days);
      if (!/^\d+$/.test(options.days ?? "") || days < 1) {
        throw new CliFailure(`--days must be a whole number of days (at least 1), not "${options.days}".`);
      }
      const { files } = await withArchive(options, ({ archive }, { workspace }) =>
        exportMedicalRecord(archive, hostOwner("cli"), member, {
          workspace,
          format: options.format,
          output: options.output,
          days,
        }),
      );
      process.stdout.write(files.map((file) => `${file}\n`).join(""));
    });
}

/** Registers `medbot family rebuild-views` under the `family` command group. */
export function registerRebuildViews(family: Command): void {
  family
    .command("rebuild-views")
    .description("re-render every member's record.md, symptoms.md and medications.md from the database")
    .action(async (_options, command: Command) => {
      const count = await withArchive(command.optsWithGlobals<GlobalOptions>(), ({ renderer }) =>
        renderer.rebuildAll(),
      );
      process.stdout.write(`Rebuilt the views of ${count} member${count === 1 ? "" : "s"}.\n`);
    });
}
