// `medbot gateway`: runs medbot on its enabled chat channels until SIGTERM or SIGINT, then stops cleanly.
import * as path from "node:path";
import type { Command } from "commander";
import { startupWarnings } from "../access/allow-list.js";
import { createAccessGate, isAllowedSender } from "../access/gate.js";
import { PairingStore } from "../access/pairing.js";
import { peopleProblems } from "../access/people.js";
import { configuredTargetRefusals } from "../access/scheduled-chats.js";
import { sendersWithoutPerson, unlinkedSenderWarning } from "../access/unlinked-senders.js";
import type { Agent } from "../agent/loop.js";
import { createAgent } from "../agent/setup.js";
import type { LoadedConfig } from "../config/load.js";
import { CHANNEL_NAMES } from "../config/schema.js";
import { ChannelSetupError, enabledChannels } from "../gateway/channels.js";
import { Gateway } from "../gateway/gateway.js";
import { GatewayAlreadyRunning, type GatewayLock, lockGateway } from "../gateway/instance-lock.js";
import { createLogger, type Logger } from "../log.js";
import { type Routines, startRoutines } from "../scheduler/routines.js";
import { schedulesChanged } from "../schedules/changes.js";
import { reminderTargetProblems } from "../schedules/medication-reminders.js";
import { type Db, openDatabase } from "../storage/db.js";
import { CliFailure, type GlobalOptions, openInstance } from "./startup.js";

/** Registers `medbot gateway`. */
export function registerGateway(program: Command): void {
  program
    .command("gateway")
    .description("answer family members on the enabled chat channels until stopped (Ctrl-C or SIGTERM)")
    .action(async (_options, command: Command) => {
      const loaded = openInstance(command.optsWithGlobals<GlobalOptions>());
      const { config, paths } = loaded;
      const problems = [...peopleProblems(config), ...reminderTargetProblems(config)];
      if (problems.length > 0) throw new CliFailure(problems.join("\n"), 2);
      const lock = holdDataFolder(paths.home, `http://${config.gateway.host}:${config.gateway.port}/healthz`);
      try {
        await runGateway(loaded);
      } finally {
        lock.release();
      }
    });
}

/** Takes the data folder's one-gateway lock, or fails naming the gateway that holds it. */
function holdDataFolder(home: string, health: string): GatewayLock {
  try {
    return lockGateway(home, health);
  } catch (error) {
    if (error instanceof GatewayAlreadyRunning) throw new CliFailure(`medbot gateway: ${error.message}`, 1);
    throw error;
  }
}

/**
 * The gateway process's one database connection and the agent over it. One connection, so the notice the
 * agent's tools give when schedules change (schedules/changes.ts) reaches the scheduler at
 * once; PRAGMA data_version, polled on the supervision tick, sees only other processes' commits.
 */
export function openGatewayAgent(loaded: LoadedConfig, logger: Logger): { db: Db; agent: Agent } {
  const { paths } = loaded;
  const db = openDatabase(paths.database, { auditSigningKey: paths.auditSigningKey });
  const agent = createAgent(loaded, {
    warn: (message) => logger.warn(message),
    db,
    // A medication's times changed through the agent re-arm the scheduler too.
    onArchiveChange: () => schedulesChanged(db),
  });
  return { db, agent };
}

/** Runs the gateway until SIGTERM or SIGINT, then stops it cleanly. */
async function runGateway(loaded: LoadedConfig): Promise<void> {
  const { config, paths } = loaded;
  const logger = createLogger({ file: path.join(paths.logs, "gateway.log") });
  const channels = await enabledChannels(config, paths, logger).catch((error: unknown) => {
    throw error instanceof ChannelSetupError ? new CliFailure(error.message, 2) : error;
  });
  for (const warning of startupWarnings(config)) logger.warn(warning);
  const { db, agent } = openGatewayAgent(loaded, logger);
  for (const refusal of configuredTargetRefusals(config, db)) logger.warn(refusal);
  for (const unlinked of sendersWithoutPerson(config, new PairingStore(db).approved())) {
    logger.warn(unlinkedSenderWarning(unlinked));
  }
  let routines: Routines | undefined;
  const gateway = new Gateway({
    settings: config.gateway,
    inboundLimits: Object.fromEntries(
      CHANNEL_NAMES.map((name) => [name, config.channels[name].maxInboundChars] as const),
    ),
    db,
    agent,
    gate: createAccessGate(config, db, undefined, logger),
    mayInteract: (message) => isAllowedSender(config, db, message),
    channels,
    logger,
    onWatch: () => routines?.reloadIfChanged(),
  });
  const stopRequested = new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  try {
    await gateway.start();
    routines = startRoutines({ config, paths, db, agent, logger });
  } catch (error) {
    await gateway.stop();
    agent.close();
    db.close();
    throw new CliFailure(`medbot gateway: ${error instanceof Error ? error.message : String(error)}`, 1);
  }
  await stopRequested;
  routines.stop();
  await gateway.stop();
  agent.close();
  db.close();
}
