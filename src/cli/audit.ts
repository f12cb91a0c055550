// `medbot audit [--member M] [--since DATE] [--verify] [--json]`: who changed or exported what, and when;
// --verify recomputes the hash chain, compares its end with the head file and checks the append-only triggers,
// naming any entry edited or deleted and any history cut off or re-hashed.
import type { Command } from "commander";
import { hostOwner } from "../access/actor.js";
import { type AuditEntry, listAudit, verifyAudit } from "../audit/audit-log.js";
import { parseRecordDate } from "../time/dates.js";
import { withArchive } from "./archive-session.js";
import { CliFailure, type GlobalOptions } from "./startup.js";
import { table } from "./table.js";

interface AuditOptions extends GlobalOptions {
  member?: string;
  since?: string;
  verify?: boolean;
  json?: boolean;
}

/** Registers `medbot audit`. */
export function registerAudit(program: Command): void {
  program
    .command("audit")
    .description(
      "the audit log: every change and export (who, which channel, what, when); --verify checks it",
    )
    .option("--member <member>", "only entries about this member (id, name or alias)")
    .option("--since <date>", "only entries from this date (local midnight) or ISO date-time on")
    .option(
      "--verify",
      "check the hash chain, its head file and triggers; exit 1 naming what was edited, deleted, cut or re-hashed",
    )
    .option("--json", "machine-readable output")
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<AuditOptions>();
      const since = options.since === undefined ? undefined : sinceInstant(options.since);
      const { text, broken } = await withArchive(options, ({ archive }, paths) => {
        if (options.verify) {
          const verdict = verifyAudit(archive.db, { signingKey: paths.auditSigningKey });
          const text = options.json
            ? JSON.stringify(verdict, null, 2)
            : verdict.ok
              ? `audit log intact (${verdict.entries} entries)`
              : [
                  `audit log BROKEN (${verdict.entries} entries checked):`,
                  ...verdict.problems.map((p) => `  ${p}`),
                ].join("\n");
          return { text, broken: !verdict.ok };
        }
        const memberId = options.member ? archive.member(hostOwner("cli"), options.member).id : undefined;
        const entries = listAudit(archive.db, { memberId, since });
        return {
          text: options.json ? JSON.stringify(entries, null, 2) : entriesText(entries),
          broken: false,
        };
      });
      process.stdout.write(`${text}\n`);
      if (broken) process.exitCode = 1;
    });
}

/** --since as an ISO instant: a day means its local midnight; a date-time without offset is local time. */
function sinceInstant(text: string): string {
  let value: string;
  try {
    value = parseRecordDate(text, "--since");
  } catch (error) {
    throw new CliFailure((error as Error).message);
  }
  return new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00` : value).toISOString();
}

function entriesText(entries: AuditEntry[]): string {
  if (entries.length === 0) return "No audit entries match.";
  return table([
    ["SEQ", "TIME (UTC)", "ACTOR", "CHANNEL", "ACTION", "MEMBER", "ENTITY"],
    ...entries.map((e) => [
      String(e.seq),
      e.at.replace("T", " ").replace(/\.\d+Z$/, "Z"),
      e.actor,
      e.channel,
      e.action,
      e.memberId ?? "",
      [e.entity, e.entityId].filter(Boolean).join(":"),
    ]),
  ]);
}
