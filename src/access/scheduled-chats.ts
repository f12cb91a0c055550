// "May this chat receive scheduled sends?": the one answer for cron jobs, medication reminders, the heartbeat
// and the risk scan, asked when a job is added and again at every delivery. A chat qualifies only when its
// channel is enabled, the channel admits the chat's sender (allowFrom, or pairing approval while dmPolicy is
// "pairing"), and the chat is a person's identity in config `people`. Anything else is refused, with why.
import { parseChatTarget } from "../config/chat-target.js";
import type { ChannelName, MedbotConfig } from "../config/schema.js";
import type { Db } from "../storage/db.js";
import { listedInAllowFrom } from "./allow-list.js";
import { PairingStore } from "./pairing.js";
import { actorForChat, directChatSender } from "./people.js";

/** A chat as scheduled sends address it. */
export interface ScheduledChat {
  channel: ChannelName;
  chatId: string;
}

/** Why `chat` may not receive scheduled messages now, or undefined when it may. */
export function scheduledChatRefusal(config: MedbotConfig, db: Db, chat: ScheduledChat): string | undefined {
  const { channel, chatId } = chat;
  const settings = config.channels[channel];
  if (!settings?.enabled) return `channel ${channel} is not enabled (channels.${channel}.enabled)`;
  if (!Object.hasOwn(config.people, actorForChat(config, channel, chatId).person))
    return `${channel}:${chatId} is no person's identity in people`;
  const sender = directChatSender(channel, chatId);
  const pairing = settings.dmPolicy === "pairing";
  const admitted =
    listedInAllowFrom(config, channel, sender) ||
    (pairing && new PairingStore(db).isApproved(channel, sender));
  if (!admitted) {
    return pairing
      ? `${channel}:${chatId} is neither in channels.${channel}.allowFrom nor approved by pairing`
      : `${channel}:${chatId} is not in channels.${channel}.allowFrom`;
  }
  return undefined;
}

/** The refusal for adding a job to `chat`, with what the owner can do about it; undefined when allowed. */
export function scheduleRefusal(config: MedbotConfig, db: Db, chat: ScheduledChat): string | undefined {
  const why = scheduledChatRefusal(config, db, chat);
  if (why === undefined) return undefined;
  return `${chat.channel}:${chat.chatId} may not receive scheduled messages: ${why}. Schedule only to the direct chat of a person in "people" whom the enabled channel lets in.`;
}

/** The refusal recorded when a delivery is held: the chat had access once and has lost it. */
export function heldReason(chat: ScheduledChat, why: string): string {
  return `${chat.channel}:${chat.chatId} is no longer allowed: ${why}`;
}

/**
 * The configured scheduled targets (heartbeat.target while the heartbeat or risk scan is on, every
 * reminders.deliverTo chat) that may not receive scheduled sends now: what the gateway warns about at start
 * and doctor reports. Their messages are held at delivery, not sent.
 */
export function configuredTargetRefusals(config: MedbotConfig, db: Db): string[] {
  const targets: { key: string; chat: string }[] = [];
  const { heartbeat } = config;
  if (heartbeat.target && (heartbeat.enabled || heartbeat.riskScan.enabled))
    targets.push({ key: "heartbeat.target", chat: heartbeat.target });
  for (const [memberId, chats] of Object.entries(config.reminders.deliverTo))
    for (const chat of chats) targets.push({ key: `reminders.deliverTo.${memberId}`, chat });
  const refusals: string[] = [];
  for (const { key, chat } of targets) {
    const why = scheduledChatRefusal(config, db, parseChatTarget(chat));
    if (why)
      refusals.push(`${key}: ${chat} may not receive scheduled messages: ${why}; they are held, not sent`);
  }
  return refusals;
}
