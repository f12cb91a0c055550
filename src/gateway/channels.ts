// The adapters of the enabled channels. Each adapter module (and its platform SDK) is loaded only when its
// channel is enabled: an SDK a household does not use costs no memory in the long-running gateway.
import { emailAuthStateFile } from "../channels/email-auth-state.js";
import type { ChannelAdapter } from "../channels/types.js";
import type { MedbotPaths } from "../config/paths.js";
import { CHANNEL_NAMES, type ChannelName, type MedbotConfig } from "../config/schema.js";
import type { Logger } from "../log.js";

type AdapterFactory = (config: MedbotConfig, paths: MedbotPaths, log: Logger) => Promise<ChannelAdapter>;

const FACTORIES: Record<ChannelName, AdapterFactory> = {
  telegram: async (config) =>
    new (await import("../channels/telegram.js")).TelegramAdapter(config.channels.telegram),
  email: async (config, paths, log) =>
    new (await import("../channels/email.js")).EmailAdapter(
      config.channels.email,
      {},
      {
        logger: log,
        authStateFile: emailAuthStateFile(paths.home),
      },
    ),
  feishu: async (config, _paths, log) =>
    new (await import("../channels/feishu.js")).FeishuAdapter(config.channels.feishu, {}, log),
  whatsapp: async (config, paths, log) =>
    new (await import("../channels/whatsapp.js")).WhatsAppAdapter(config.channels.whatsapp, {
      dataDir: paths.home,
      workspace: paths.workspace,
      logger: log,
    }),
  qq: async (config, _paths, log) =>
    new (await import("../channels/qq.js")).QqAdapter(config.channels.qq, {}, log),
};

/** A channel that is enabled but cannot be set up; the message names the config key to fix. */
export class ChannelSetupError extends Error {}

/** Adapters for every enabled channel; throws ChannelSetupError naming the key of one that cannot start. */
export async function enabledChannels(
  config: MedbotConfig,
  paths: MedbotPaths,
  logger: Logger,
): Promise<ChannelAdapter[]> {
  const channels: ChannelAdapter[] = [];
  for (const name of CHANNEL_NAMES) {
    if (!config.channels[name].enabled) continue;
    const factory = FACTORIES[name];
    if (!factory) {
      throw new ChannelSetupError(
        `channels.${name}: the gateway cannot run ${name} yet; set enabled to false`,
      );
    }
    try {
      channels.push(await factory(config, paths, logger.child({ channel: name })));
    } catch (error) {
      throw new ChannelSetupError(error instanceof Error ? error.message : String(error));
    }
  }
  if (channels.length === 0) {
    throw new ChannelSetupError(
      "no channel is enabled; set channels.telegram.enabled to true (and its token)",
    );
  }
  return channels;
}
