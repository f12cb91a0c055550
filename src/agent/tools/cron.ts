// The cron tool: the model schedules, lists and removes messages back to the chat it is answering, as the
// person it acts for. It never reaches another chat's jobs, and schedules only into a chat that may receive
// scheduled sends (a person's chat on an enabled channel that lets them in).
import { z } from "zod";
import { CHANNEL_NAMES, type ChannelName, configSchema } from "../../config/schema.js";
import { schedulesChanged } from "../../schedules/changes.js";
import { CronJobStore, describeJob, type ListedCronJob, personTimeZone } from "../../schedules/cron-jobs.js";
import { ScheduleError } from "../../schedules/schedule.js";
import { defineTool, type ToolContext } from "./tool.js";

export const cronTool = defineTool({
  name: "cron",
  description:
    "Reminders back to this chat (not medication doses). add: message + one of at (ISO, local to tz), every (30m, 2h, 3d) or cron (5 fields); tz: IANA zone. list. remove: id.",
  parameters: z.object({
    action: z.enum(["add", "list", "remove"]),
    message: z.string().optional(),
    at: z.string().optional(),
    every: z.string().optional(),
    cron: z.string().optional(),
    tz: z.string().optional(),
    id: z.number().int().optional(),
  }),
  run(args, context) {
    const chat = chatOf(context);
    if (typeof chat === "string") return chat;
    const store = new CronJobStore(context.archive.db);
    const scope = { chat };
    try {
      if (args.action === "list") return listText(store.list(context.actor, scope));
      if (args.action === "remove") {
        if (args.id === undefined) return "Error: remove needs the id of the job (list shows the ids).";
        const job = store.remove(context.actor, args.id, scope);
        schedulesChanged(context.archive.db);
        return `Removed job #${job.id}: ${JSON.stringify(job.message)}.`;
      }
      const { message, at, every, cron } = args;
      if (!message) return 'Error: add needs a message, like "Fasting blood test at 9".';
      const grace = context.config?.reminders.graceMinutes;
      const job = store.add(
        context.actor,
        { ...chat, account: "" },
        message,
        { at, every, cron },
        {
          timezone: args.tz?.trim() || personTimeZone(context.config, context.actor.person),
          graceMs: grace === undefined ? undefined : grace * 60_000,
          // Without a config nothing is enabled, so nothing can be scheduled: fail closed.
          config: context.config ?? configSchema.parse({}),
        },
      );
      schedulesChanged(context.archive.db);
      return `Added job #${job.id}, ${describeJob(job)}`;
    } catch (error) {
      if (error instanceof ScheduleError) return `Error: ${error.message}`;
      throw error;
    }
  },
});

/** The turn's chat as a job target, or an error text when the turn has no chat channel. */
function chatOf(context: ToolContext): { channel: ChannelName; chatId: string } | string {
  const origin = context.origin;
  if (!origin || !(CHANNEL_NAMES as readonly string[]).includes(origin.channel)) {
    return "Error: cron jobs belong to a chat; this conversation has none (use medbot cron on the host).";
  }
  return { channel: origin.channel as ChannelName, chatId: origin.chatId };
}

function listText(jobs: readonly ListedCronJob[]): string {
  if (jobs.length === 0) return "No jobs in this chat.";
  return jobs.map((job) => `#${job.id} ${describeJob(job)}`).join("\n");
}
