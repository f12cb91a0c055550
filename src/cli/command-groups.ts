// The top-level commands, each with the module that registers it, loaded only when its command runs: so
// `medbot --version`, `--help` and one command start without the code (zod, SQLite, the model SDK, the
// chat platforms) of all the others. The help line of each is kept here; test/cli/command-groups.test.ts
// checks it against what the module registers.
import type { Command } from "commander";

/** One top-level command: its name, help line and the module that registers it. */
export interface CommandGroup {
  name: string;
  /** The command as the help lists it (name, `[options]` when it has any, its arguments). */
  term: string;
  description: string;
  load: () => Promise<(program: Command) => void>;
}

/** Every top-level command, in the order `medbot --help` lists them. */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  {
    name: "onboard",
    term: "onboard [options]",
    description: "create (or update) the config and the workspace; run it again any time",
    load: async () => (await import("./onboard.js")).registerOnboard,
  },
  {
    name: "status",
    term: "status [options]",
    description: "show config, workspace, model, channels, counts and permissions",
    load: async () => (await import("./status.js")).registerStatus,
  },
  {
    name: "agent",
    term: "agent [options]",
    description: "chat with medbot in this terminal (or send one message with -m)",
    load: async () => (await import("./agent.js")).registerAgent,
  },
  {
    name: "family",
    term: "family",
    description: "the family's members and health records: list, show, add, review",
    load: async () => (await import("./family.js")).registerFamily,
  },
  {
    name: "audit",
    term: "audit [options]",
    description:
      "the audit log: every change and export (who, which channel, what, when); --verify checks it",
    load: async () => (await import("./audit.js")).registerAudit,
  },
  {
    name: "import-medbot",
    term: "import-medbot [options] <path>",
    description:
      "import a MedBot workspace's family/ folder (record.md, symptoms.md, medications.md, metrics/*.jsonl); " +
      "importing again adds only what is new",
    load: async () => (await import("./import-medbot.js")).registerImportMedbot,
  },
  {
    name: "metrics",
    term: "metrics",
    description: "health readings: add, list, chart, units",
    load: async () => (await import("./metrics.js")).registerMetrics,
  },
  {
    name: "export",
    term: "export [options] <member>",
    description: "write a doctor export of a member (Markdown and PDF) and print the paths written",
    load: async () => (await import("./export.js")).registerExport,
  },
  {
    name: "gateway",
    term: "gateway",
    description: "answer family members on the enabled chat channels until stopped (Ctrl-C or SIGTERM)",
    load: async () => (await import("./gateway.js")).registerGateway,
  },
  {
    name: "pairing",
    term: "pairing",
    description: "approve or revoke senders who asked for access with a pairing code (dmPolicy: pairing)",
    load: async () => (await import("./pairing.js")).registerPairing,
  },
  {
    name: "channels",
    term: "channels",
    description: "link chat channels and see who may use them",
    load: async () => (await import("./channels.js")).registerChannels,
  },
  {
    name: "cron",
    term: "cron",
    description:
      "scheduled messages to chats (appointments, refills); medication reminders come from medications",
    load: async () => (await import("./cron.js")).registerCron,
  },
  {
    name: "doctor",
    term: "doctor [options]",
    description: "check this deployment's security (permissions, channels, location, keys, tools, logs)",
    load: async () => (await import("./doctor.js")).registerDoctor,
  },
  {
    name: "service",
    term: "service",
    description: "run the gateway as a hardened systemd service (never as root)",
    load: async () => (await import("./service.js")).registerService,
  },
  {
    name: "skills",
    term: "skills",
    description: "built-in and workspace skills; a workspace skill reaches the model only once approved",
    load: async () => (await import("./skills.js")).registerSkills,
  },
];

/** Global options that take a value: the word after them is not the command. */
const VALUE_OPTIONS = new Set(["-c", "--config"]);

/**
 * The command group `args` (the command line after node and the script) runs, as commander picks it: the
 * first word that is not an option or a global option's value (for `help metrics`, the second). None for
 * `--version`, `--help` or no command.
 */
export function invokedGroup(args: readonly string[]): CommandGroup | undefined {
  const words: string[] = [];
  for (let i = 0; i < args.length && words.length < 2; i++) {
    const arg = args[i]!;
    if (arg === "--") words.push(...args.slice(i + 1, i + 3));
    else if (VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith("-")) words.push(arg);
    if (arg === "--") break;
  }
  const word = words[0] === "help" ? words[1] : words[0];
  return COMMAND_GROUPS.find((group) => group.name === word);
}
