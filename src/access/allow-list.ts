// Who may talk to medbot on a channel, from config alone: `allowFrom`, and `groups` for group chats.
// Fail closed: a missing or empty allowFrom lets nobody in; "*" must be written to open a channel.
// Entries match the channel's sender id exactly (a Telegram numeric user id as a string, an email
// address); usernames and "id|username" forms are not accepted, since a username can change hands.
import { CHANNEL_NAMES, type ChannelName, type MedbotConfig } from "../config/schema.js";

/**
 * The sender id as compared: email addresses are case-insensitive, WhatsApp numbers compare by their digits
 * ("+49 170 1234567" is 491701234567), every other channel's ids exactly.
 */
export function senderKey(channel: ChannelName, senderId: string): string {
  if (channel === "email") return senderId.toLowerCase();
  if (channel === "whatsapp" && /^\+?[\d\s()-]+$/.test(senderId)) return senderId.replace(/\D/g, "");
  return senderId;
}

/** True when the channel's `allowFrom` lets this sender in: "*" or an exact entry. */
export function listedInAllowFrom(config: MedbotConfig, channel: ChannelName, senderId: string): boolean {
  const allowFrom = config.channels[channel].allowFrom;
  if (allowFrom.includes("*")) return true;
  const key = senderKey(channel, senderId);
  return allowFrom.some((entry) => senderKey(channel, entry) === key);
}

/** The group chat ids the bot may answer in on this channel (none for channels without groups). */
export function listedGroups(config: MedbotConfig, channel: ChannelName): readonly string[] {
  const settings = config.channels[channel];
  return "groups" in settings ? settings.groups : [];
}

/**
 * What to tell the owner at start: enabled channels that let nobody in, and those open to everyone without
 * `openToEveryone` acknowledging it (an acknowledged "*" is the owner's choice; medbot doctor still lists it).
 */
export function startupWarnings(config: MedbotConfig): string[] {
  const warnings: string[] = [];
  for (const channel of CHANNEL_NAMES) {
    const settings = config.channels[channel];
    if (!settings.enabled) continue;
    const key = `channels.${channel}.allowFrom`;
    if (settings.allowFrom.includes("*")) {
      if (!settings.openToEveryone) warnings.push(`${key} is "*": anyone who finds the bot can talk to it`);
    } else if (settings.allowFrom.length === 0) {
      warnings.push(
        settings.dmPolicy === "pairing"
          ? `${key} is empty: only senders approved with medbot pairing approve can talk to medbot on ${channel}`
          : `${key} is empty: nobody can talk to medbot on ${channel}`,
      );
    }
  }
  return warnings;
}
