// `medbot gateway`: runs medbot on its enabled chat channels until SIGTERM or SIGINT, then stops cleanly.
import * as path from "node:path";
import type { Command } from "commander";
import { startupWarnings } from "../access/allow-list.js";
import { createAccessGate, isAllowedSender } from "../access/gate.js";
import { peopleProblems } from "../access/people.js";
import { createAgent } from "../agent/setup.js";
import { EmailAdapter } from "../channels/email.js";
import { TelegramAdapter } from "../channels/telegram.js";
import type { ChannelAdapter } from "../channels/types.js";
import { CHANNEL_NAMES, type MedbotConfig } from "../config/schema.js";
import { Gateway } from "../gateway/gateway.js";
import { createLogger } from "../log.js";
import { openDatabase } from "../storage/db.js";
import { CliFailure, type GlobalOptions, openInstance } from "./startup.js";

/** Registers `medbot gateway`. */
export function registerGateway(program: Command): void {
  program
    .command("gateway")
    .description("answer family members on the enabled chat channels until stopped (Ctrl-C or SIGTERM)")
    .action(async (_options, command: Command) => {
      const loaded = openInstance(command.optsWithGlobals<GlobalOptions>());
      const { config, paths } = loaded;
      const problems = peopleProblems(config);
      if (problems.length > 0) throw new CliFailure(problems.join("\n"), 2);
      const channels = enabledChannels(config);
      const logger = createLogger({ file: path.join(paths.logs, "gateway.log") });
      for (const warning of startupWarnings(config)) logger.warn(warning);
      const agent = createAgent(loaded, (message) => logger.warn(message));
      const db = openDatabase(paths.database);
      const gateway = new Gateway({
        settings: config.gateway,
        db,
        agent,
        gate: createAccessGate(config, db),
        mayInteract: (message) => isAllowedSender(config, db, message),
        channels,
        logger,
      });
      const stopRequested = new Promise<void>((resolve) => {
        process.once("SIGTERM", resolve);
        process.once("SIGINT", resolve);
      });
      try {
        await gateway.start();
      } catch (error) {
        await gateway.stop();
        agent.close();
        db.close();
        throw new CliFailure(`medbot gateway: ${error instanceof Error ? error.message : String(error)}`, 1);
      }
      await stopRequested;
      await gateway.stop();
      agent.close();
      db.close();
    });
}

/** The adapters of the enabled channels; a channel medbot cannot run yet is an error naming its key. */
function enabledChannels(config: MedbotConfig): ChannelAdapter[] {
  const channels: ChannelAdapter[] = [];
  for (const name of CHANNEL_NAMES) {
    if (!config.channels[name].enabled) continue;
    if (name !== "telegram" && name !== "email") {
      throw new CliFailure(`channels.${name}: the gateway cannot run ${name} yet; set enabled to false`, 2);
    }
    try {
      channels.push(
        name === "email"
          ? new EmailAdapter(config.channels.email)
          : new TelegramAdapter(config.channels.telegram),
      );
    } catch (error) {
      throw new CliFailure(error instanceof Error ? error.message : String(error), 2);
    }
  }
  if (channels.length === 0) {
    throw new CliFailure("no channel is enabled; set channels.telegram.enabled to true (and its token)", 2);
  }
  return channels;
}
