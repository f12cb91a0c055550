// `medbot import-medbot PATH`: moves a MedBot (Python) workspace's family/ folder into the archive and says
// what it imported per member and which files and lines it could not read.
import * as path from "node:path";
import type { Command } from "commander";
import { type ImportReport, importedAnything, importMedbotFamily } from "../archive/import-medbot.js";
import { findFamilyFolder } from "../archive/medbot-workspace.js";
import { withArchive } from "./archive-session.js";
import { CliFailure, type GlobalOptions } from "./startup.js";

/** Registers `medbot import-medbot`. */
export function registerImportMedbot(program: Command): void {
  program
    .command("import-medbot <path>")
    .description(
      "import a MedBot workspace's family/ folder (record.md, symptoms.md, medications.md, metrics/*.jsonl); " +
        "importing again adds only what is new",
    )
    .option(
      "--map <MEDBOT_ID=MEMBER>",
      "import MedBot member MEDBOT_ID into this archive member (id, name or alias), or =new for a new member; repeatable",
      collectMap,
      {},
    )
    .option("--json", "machine-readable report")
    .action(async (given: string, _options, command: Command) => {
      const options = command.optsWithGlobals<
        GlobalOptions & { json?: boolean; map: Record<string, string> }
      >();
      let familyDir: string;
      try {
        familyDir = findFamilyFolder(given);
      } catch (error) {
        throw new CliFailure((error as Error).message);
      }
      const report = await withArchive(
        options,
        ({ archive }, { workspace }) => {
          if (path.resolve(familyDir) === path.resolve(workspace, "family")) {
            throw new CliFailure(
              `${given} is medbot's own family folder (its views), not a MedBot workspace.`,
            );
          }
          return importMedbotFamily(archive, familyDir, workspace, { map: options.map });
        },
        true,
      );
      process.stdout.write(`${options.json ? JSON.stringify(report, null, 2) : reportText(report)}\n`);
      if (!importedAnything(report)) process.exitCode = 1;
    });
}

/** Collects repeated --map MEDBOT_ID=MEMBER options; a malformed or repeated one is refused. */
function collectMap(value: string, previous: Record<string, string>): Record<string, string> {
  const match = /^([^=]+)=(.+)$/.exec(value.trim());
  if (!match) throw new CliFailure(`--map "${value}" must be MEDBOT_ID=MEMBER or MEDBOT_ID=new.`);
  const [, medbotId, member] = match as unknown as [string, string, string];
  if (Object.hasOwn(previous, medbotId.trim()))
    throw new CliFailure(`--map ${medbotId.trim()} is given twice; give one target per MedBot member.`);
  return { ...previous, [medbotId.trim()]: member.trim() };
}

function reportText(report: ImportReport): string {
  const lines = [`Imported from ${report.familyDir}:`];
  if (report.members.length === 0) lines.push("  no member folders could be read");
  for (const m of report.members) {
    const { facts, symptoms, medications, metrics, reports } = m.imported;
    const counts = `${facts} facts, ${symptoms} symptoms, ${medications} medications, ${metrics} readings, ${reports} reports`;
    const how = m.created
      ? "new member"
      : m.mapped
        ? `MedBot's ${m.folder}, mapped into this member; profile kept`
        : "already in the archive; profile kept";
    const skipped = m.alreadyPresent ? `; ${m.alreadyPresent} already present, skipped` : "";
    lines.push(`  ${m.displayName} (id ${m.id}, ${how}): ${counts}${skipped}`);
  }
  if (report.members.some((m) => Object.values(m.imported).some((n) => n > 0))) {
    lines.push("Everything imported is marked reported: check it with medbot family review.");
  }
  if (report.problems.length) {
    lines.push(`Could not read ${report.problems.length} item(s):`);
    for (const p of report.problems)
      lines.push(`  ${p.file}${p.line === null ? "" : `:${p.line}`}: ${p.reason}`);
  }
  return lines.join("\n");
}
