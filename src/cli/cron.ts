// `medbot cron list | add | remove`: the host's terminal is the owner, so it sees and changes every chat's
// jobs. A running gateway notices the change (PRAGMA data_version) and re-arms its timer.
import * as fs from "node:fs";
import type { Command } from "commander";
import { hostOwner } from "../access/actor.js";
import { actorForChat } from "../access/people.js";
import { heldReason, scheduledChatRefusal } from "../access/scheduled-chats.js";
import { type ChatTarget, parseChatTarget } from "../config/chat-target.js";
import type { LoadedConfig } from "../config/load.js";
import { CHANNEL_NAMES, type MedbotConfig } from "../config/schema.js";
import {
  CronJobStore,
  describeJob,
  type JobScope,
  type ListedCronJob,
  personTimeZone,
} from "../schedules/cron-jobs.js";
import { ScheduleError } from "../schedules/schedule.js";
import { openArchive } from "./archive-session.js";
import { CliFailure, type GlobalOptions, openInstance } from "./startup.js";

export interface CronListOptions extends GlobalOptions {
  chat?: string;
  all?: boolean;
  json?: boolean;
}

export interface CronAddOptions extends GlobalOptions {
  chat?: string;
  message?: string;
  at?: string;
  every?: string;
  cron?: string;
  tz?: string;
}

/** Registers `medbot cron`. */
export function registerCron(program: Command): void {
  const cron = program
    .command("cron")
    .description(
      "scheduled messages to chats (appointments, refills); medication reminders come from medications",
    );

  cron
    .command("list")
    .description("active jobs: of one chat with --chat, else of every chat (this terminal is the owner)")
    .option("--chat <chat>", "only this chat, as channel:chatId (e.g. telegram:123456)")
    .option("--all", "every chat's jobs (the default without --chat)")
    .option("--json", "machine-readable output")
    .action(async (_options, command: Command) => {
      process.stdout.write(`${await cronList(command.optsWithGlobals<CronListOptions>())}\n`);
    });

  cron
    .command("add")
    .description(
      "schedule --message to --chat with one of --at, --every, --cron; times are in --tz, else the chat's person's timezone, else the host's",
    )
    .requiredOption("--chat <chat>", "the chat that gets it, as channel:chatId (e.g. telegram:123456)")
    .requiredOption("--message <text>", "the text sent, as written")
    .option("--at <time>", "once, at an ISO date-time (e.g. 2026-06-03T08:30; no offset: local to the zone)")
    .option("--every <interval>", "repeatedly, e.g. 30m, 2h, 3d (at least 1m)")
    .option("--cron <expr>", 'a five-field cron expression, e.g. "0 8 * * 1" (Mondays 08:00)')
    .option("--tz <zone>", "IANA timezone, e.g. Europe/Berlin")
    .action(async (_options, command: Command) => {
      process.stdout.write(`${await cronAdd(command.optsWithGlobals<CronAddOptions>())}\n`);
    });

  cron
    .command("remove")
    .description("remove a job by id (see medbot cron list)")
    .argument("<id>", "the job's id")
    .action(async (id: string, _options, command: Command) => {
      process.stdout.write(`${await cronRemove(id, command.optsWithGlobals<GlobalOptions>())}\n`);
    });
}

/** `medbot cron list`: the jobs of --chat, or of every chat; text or JSON. */
export async function cronList(options: CronListOptions): Promise<string> {
  if (options.all && options.chat) throw new CliFailure("medbot cron list: give --chat or --all, not both.");
  const scope: JobScope = options.chat ? { chat: parseChat(options.chat) } : { all: true };
  const jobs = await withJobs(
    options,
    (store, { config }) => store.list(hostOwner("cli"), scope).map((job) => withLiveHold(job, config, store)),
    () => [],
  );
  if (options.json) return JSON.stringify(jobs.map(jobJson), null, 2);
  if (jobs.length === 0) return options.chat ? `No jobs for ${options.chat}.` : "No jobs.";
  return jobs
    .map(
      (job) =>
        `#${job.id} ${job.target.channel}:${job.target.chatId} (${job.ownerPerson}) ${describeJob(job)}`,
    )
    .join("\n");
}

/** `medbot cron add`: only to a person's chat that its enabled channel lets in; the job belongs to that person. */
export async function cronAdd(options: CronAddOptions): Promise<string> {
  const chat = parseChat(options.chat ?? "");
  const job = await withJobs(
    options,
    (store, { config }) => {
      // The store refuses a chat that is no person's (or not let in); the job is that person's.
      const person = actorForChat(config, chat.channel, chat.chatId).person;
      const actor = { ...hostOwner("cli"), person };
      const input = { at: options.at, every: options.every, cron: options.cron };
      return store.add(actor, chat, options.message ?? "", input, {
        timezone: options.tz?.trim() || personTimeZone(config, person),
        graceMs: config.reminders.graceMinutes * 60_000,
        config,
      });
    },
    "create",
  );
  return `Added job #${job.id} for ${chat.channel}:${chat.chatId}: ${describeJob(job)}`;
}

/** A job not yet held whose chat may not receive scheduled sends now is shown held already, with why. */
function withLiveHold(job: ListedCronJob, config: MedbotConfig, store: CronJobStore): ListedCronJob {
  if (job.held) return job;
  const why = scheduledChatRefusal(config, store.db, job.target);
  return why ? { ...job, held: { reason: heldReason(job.target, why), at: new Date() } } : job;
}

/** `medbot cron remove ID`. */
export async function cronRemove(id: string, options: GlobalOptions): Promise<string> {
  if (!/^\d+$/.test(id.trim()))
    throw new CliFailure(`medbot cron remove: "${id}" is not a job id (a number).`);
  const job = await withJobs(options, (store) => store.remove(hostOwner("cli"), Number(id), { all: true }));
  return `Removed job #${job.id} (${job.target.channel}:${job.target.chatId}): ${JSON.stringify(job.message)}`;
}

/** A chat as channel:chatId; the channel must be one medbot has. */
export function parseChat(text: string): ChatTarget {
  const at = text.indexOf(":");
  const channel = text.slice(0, at);
  const chatId = text.slice(at + 1).trim();
  if (at < 0 || !(CHANNEL_NAMES as readonly string[]).includes(channel) || !chatId) {
    throw new CliFailure(
      `--chat "${text}" must be channel:chatId with channel one of ${CHANNEL_NAMES.join(", ")} (e.g. telegram:123456).`,
    );
  }
  return parseChatTarget(`${channel}:${chatId}`);
}

/** Runs `work` on the instance's job store; a refused schedule becomes a one-line failure that changed nothing. */
async function withJobs<T>(
  options: GlobalOptions,
  work: (store: CronJobStore, loaded: LoadedConfig) => T,
  missing: "create" | "fail" | (() => T) = "fail",
): Promise<T> {
  const loaded = openInstance(options);
  if (missing !== "create" && !fs.existsSync(loaded.paths.database)) {
    if (typeof missing === "function") return missing();
    throw new CliFailure(`No medbot database yet at ${loaded.paths.database}, so no jobs either.`);
  }
  const session = openArchive(loaded.paths, loaded.config.archive.units);
  try {
    return work(new CronJobStore(session.db), loaded);
  } catch (error) {
    if (error instanceof ScheduleError) throw new CliFailure(`medbot cron: ${error.message}`);
    throw error;
  } finally {
    session.close();
  }
}

function jobJson(job: ListedCronJob): Record<string, unknown> {
  return {
    id: job.id,
    chat: `${job.target.channel}:${job.target.chatId}`,
    owner: job.ownerPerson,
    message: job.message,
    kind: job.schedule.kind,
    spec: job.schedule.spec,
    timezone: job.schedule.timezone,
    nextRun: job.nextRun?.toISOString() ?? null,
    held: job.held ? { reason: job.held.reason, at: job.held.at.toISOString() } : null,
    createdAt: job.createdAt.toISOString(),
  };
}
