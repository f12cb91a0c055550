// `medbot family rename | alias add | alias remove | merge | remove`: who the members are, changed from the
// terminal. Merge and remove ask first (`--yes` skips) and name the config keys the owner must update.
import type { Command } from "commander";
import { hostOwner } from "../access/actor.js";
import { configReferencesTo } from "../access/member-references.js";
import {
  addMemberAlias,
  type MovedCounts,
  mergeMembers,
  removeMember,
  removeMemberAlias,
  renameMember,
  retireMemberViews,
} from "../archive/member-changes.js";
import type { Member } from "../archive/members.js";
import { loadConfig } from "../config/load.js";
import { withArchive } from "./archive-session.js";
import { Prompter } from "./prompt.js";
import { CliFailure, type GlobalOptions } from "./startup.js";

interface ConfirmOptions extends GlobalOptions {
  yes?: boolean;
}

const owner = hostOwner("cli");

const MOVED_LABEL: Record<keyof MovedCounts, string> = {
  facts: "facts",
  symptoms: "symptom events",
  medications: "medications",
  metrics: "readings",
  reports: "reports",
  exports: "exports",
  medication_doses: "doses",
  contact_drafts: "drafted sends",
  aliases: "aliases",
};
const named = (m: Member) => `${m.displayName} (id ${m.id})`;
const aliasList = (m: Member) => (m.aliases.length ? m.aliases.join(", ") : "none");

/** Registers the member-identity subcommands under `medbot family`. */
export function registerFamilyMembers(family: Command): void {
  family
    .command("rename <member> <new-name>")
    .description("change a member's display name; the old name is kept as an alias (unless --drop-old-name)")
    .option("--drop-old-name", "do not keep the old name as an alias")
    .action(async (ref: string, newName: string, _options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { dropOldName?: boolean }>();
      const done = await withArchive(options, ({ archive }) =>
        renameMember(archive, owner, ref, newName, !options.dropOldName),
      );
      const kept = done.keptAsAlias ? `"${done.oldName}" is kept as an alias` : "the old name was not kept";
      process.stdout.write(`Renamed ${done.oldName} to ${named(done.member)}; ${kept}.\n`);
    });

  const alias = family.command("alias").description("add or remove another name a member answers to");
  alias
    .command("add <member> <alias>")
    .description("add an alias (refused if it already names another member)")
    .action(async (ref: string, name: string, _options, command: Command) => {
      const member = await withArchive(command.optsWithGlobals<GlobalOptions>(), ({ archive }) =>
        addMemberAlias(archive, owner, ref, name),
      );
      process.stdout.write(`${named(member)} aliases: ${aliasList(member)}\n`);
    });
  alias
    .command("remove <member> <alias>")
    .description("remove an alias")
    .action(async (ref: string, name: string, _options, command: Command) => {
      const member = await withArchive(command.optsWithGlobals<GlobalOptions>(), ({ archive }) =>
        removeMemberAlias(archive, owner, ref, name),
      );
      process.stdout.write(`${named(member)} aliases: ${aliasList(member)}\n`);
    });

  family
    .command("merge <from> <into>")
    .description(
      "move everything recorded for FROM into INTO (history kept); FROM's name becomes an alias of INTO",
    )
    .option("--yes", "do not ask for confirmation")
    .action(async (fromRef: string, intoRef: string, _options, command: Command) => {
      const options = command.optsWithGlobals<ConfirmOptions>();
      const { config } = loadConfig({ configPath: options.config });
      const done = await withArchive(options, async ({ archive }, { workspace }) => {
        const from = archive.member(owner, fromRef);
        const into = archive.member(owner, intoRef);
        if (from.id !== into.id && !options.yes) {
          const answer = await ask(`Merge ${named(from)} into ${named(into)}? Type yes to merge`);
          if (answer.toLowerCase() !== "yes") throw new CliFailure("Not merged: nothing was changed.");
        }
        const merged = mergeMembers(archive, owner, fromRef, intoRef);
        retireMemberViews(workspace, from.id);
        return merged;
      });
      const moved = Object.entries(done.moved)
        .filter(([, n]) => n > 0)
        .map(([table, n]) => `${n} ${MOVED_LABEL[table as keyof MovedCounts]}`);
      say([
        `Merged ${named(done.from)} into ${named(done.into)}: moved ${moved.join(", ") || "nothing"}.`,
        `${done.into.displayName} now also answers to: ${aliasList(done.into)}.`,
        `${done.from.id} stays in the history, marked merged; family/${done.from.id}/ is kept (its report files and exports stay there), its generated views were removed.`,
        ...configAdvice(
          configReferencesTo(config, done.from.id),
          `change ${done.from.id} to ${done.into.id}`,
        ),
      ]);
    });

  family
    .command("remove <member>")
    .description(
      "remove a member: they and their entries are marked removed, kept in the history and audit log",
    )
    .option("--yes", "do not ask to type the member's name")
    .action(async (ref: string, _options, command: Command) => {
      const options = command.optsWithGlobals<ConfirmOptions>();
      const { config } = loadConfig({ configPath: options.config });
      const removed = await withArchive(options, async ({ archive }, { workspace }) => {
        const member = archive.member(owner, ref);
        if (!options.yes) {
          const answer = await ask(`To remove ${named(member)}, type their name (${member.displayName})`);
          if (answer !== member.displayName.trim()) {
            throw new CliFailure(
              `Not removed: "${answer}" is not ${member.displayName}. Nothing was changed.`,
            );
          }
        }
        const gone = removeMember(archive, owner, member.id);
        retireMemberViews(workspace, gone.id);
        return gone;
      });
      say([
        `Removed ${named(removed)}: their entries are marked removed and stay in the history and the audit log.`,
        `family/${removed.id}/ is kept (its report files and exports stay there); its generated views were removed.`,
        ...configAdvice(configReferencesTo(config, removed.id), `remove ${removed.id}`),
      ]);
    });
}

/** One answer from the terminal (or piped input); end of input is an empty answer. */
async function ask(question: string): Promise<string> {
  const prompter = new Prompter();
  try {
    return await prompter.ask(question);
  } finally {
    prompter.close();
  }
}

function say(lines: string[]): void {
  process.stdout.write(lines.map((line) => `${line}\n`).join(""));
}

function configAdvice(keys: string[], what: string): string[] {
  if (keys.length === 0) return [];
  return [
    `config.json still names this member at ${keys.join(", ")}: ${what} there (medbot does not edit config.json).`,
  ];
}
