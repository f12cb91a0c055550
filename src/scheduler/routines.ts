// The gateway's routines: one scheduler engine over every source (cron jobs, medication reminders, the daily
// risk scan) and the heartbeat. Jobs and medications changed in the gateway process (the agent, on the
// process's one database connection) re-arm it through schedulesChanged at once; those changed by another
// process (the CLI) are noticed through SQLite's data_version on the gateway's supervision tick.
import { scheduledChatRefusal } from "../access/scheduled-chats.js";
import type { ChatTarget } from "../config/chat-target.js";
import type { MedbotPaths } from "../config/paths.js";
import type { MedbotConfig } from "../config/schema.js";
import type { Logger } from "../log.js";
import { cronJobSource } from "../schedules/cron-jobs.js";
import { MedicationReminders } from "../schedules/medication-reminders.js";
import type { DueSource, SchedulerClock } from "../schedules/types.js";
import type { Db } from "../storage/db.js";
import { systemClock } from "./clock.js";
import { SchedulerEngine } from "./engine.js";
import { Heartbeat } from "./heartbeat.js";
import { RiskScan, riskScanSource } from "./risk-scan.js";

export interface RoutineOptions {
  config: MedbotConfig;
  paths: MedbotPaths;
  db: Db;
  agent: ConstructorParameters<typeof Heartbeat>[0]["agent"];
  logger: Logger;
  clock?: SchedulerClock;
  /** The host timezone the agent uses too (dose replies must match reminders); default the system's. */
  hostTimeZone?: string;
}

export interface Routines {
  /** Re-arms the scheduler if another connection changed the database. */
  reloadIfChanged(): void;
  stop(): void;
}

/** Starts the scheduler and the heartbeat for a running gateway. */
export function startRoutines(options: RoutineOptions): Routines {
  const { config, db, logger } = options;
  const clock = options.clock ?? systemClock;
  const sources: DueSource[] = [cronJobSource(db), new MedicationReminders(db, config, options.hostTimeZone)];
  const riskScan = riskScanSource({ config, db, hostTimeZone: options.hostTimeZone });
  if (riskScan instanceof RiskScan) sources.push(riskScan);
  else if (riskScan) logger.error({ problem: riskScan.problem }, "risk scan off");
  // One answer to "may this chat receive scheduled sends", asked again at every delivery.
  const recipientRefusal = (target: ChatTarget) => scheduledChatRefusal(config, db, target);
  const engine = new SchedulerEngine({ db, sources, clock, logger, recipientRefusal });
  const heartbeat = new Heartbeat({
    config,
    paths: options.paths,
    agent: options.agent,
    db,
    clock,
    logger,
    hostTimeZone: options.hostTimeZone,
  });
  engine.start();
  heartbeat.start();
  return {
    reloadIfChanged: () => engine.reloadIfChanged(),
    stop() {
      heartbeat.stop();
      engine.stop();
    },
  };
}
