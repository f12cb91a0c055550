// People: config `people` maps each sender identity ("telegram:123", "email:ann@example.org") to a person,
// and the person to the members they may see and change. Being a person grants no entry: the sender
// must still pass allowFrom or pairing. An allowed sender who is no person acts as `channel:senderId`
// with no grants: they can chat, but see and change no member until the owner adds them to `people`.
import type { ChannelName, MedbotConfig } from "../config/schema.js";
import type { Actor } from "./actor.js";
import { senderKey } from "./allow-list.js";

/** An identity as compared: "channel:id", with email addresses in lower case. */
function identityKey(identity: string): string {
  const colon = identity.indexOf(":");
  const channel = identity.slice(0, colon) as ChannelName;
  return `${channel}:${senderKey(channel, identity.slice(colon + 1))}`;
}

/** Problems the gateway refuses to start on: an identity listed under two people. */
export function peopleProblems(config: MedbotConfig): string[] {
  const owners = new Map<string, string>();
  const problems: string[] = [];
  for (const [person, { identities }] of Object.entries(config.people)) {
    for (const identity of new Set(identities.map(identityKey))) {
      const first = owners.get(identity);
      if (first === undefined) owners.set(identity, person);
      else
        problems.push(
          `people: ${identity} is listed under both "${first}" and "${person}"; keep it under one person`,
        );
    }
  }
  return problems;
}

/** The `people` entry (name and settings) listing this sender among its identities, if any. */
export function personOf(config: Pick<MedbotConfig, "people">, channel: ChannelName, senderId: string) {
  const key = `${channel}:${senderKey(channel, senderId)}`;
  return Object.entries(config.people).find(([, person]) =>
    person.identities.some((i) => identityKey(i) === key),
  );
}

/** Who an allowed sender acts as: their person and grants, or `channel:senderId` with no grants. */
export function actorFor(
  config: Pick<MedbotConfig, "people">,
  channel: ChannelName,
  senderId: string,
  messageId?: string,
): Actor {
  const key = `${channel}:${senderKey(channel, senderId)}`;
  const found = personOf(config, channel, senderId);
  const base = { channel, ...(messageId === undefined ? {} : { messageId }) };
  if (!found) return { ...base, person: `${channel}:${senderId}`, grants: [], identities: [key] };
  const [person, { members, identities }] = found;
  const own = [...new Set(identities.map(identityKey))];
  return { ...base, person, grants: members === "*" ? "*" : [...members], identities: own };
}

/** The sender a direct chat id stands for: itself, or the number of a WhatsApp user JID (491701234567@s.whatsapp.net). */
export function directChatSender(channel: ChannelName, chatId: string): string {
  const jid = /^([^@:]+)(?::\d+)?@(s\.whatsapp\.net|c\.us)$/.exec(chatId);
  return channel === "whatsapp" && jid ? jid[1]! : chatId;
}

/**
 * Who a direct chat belongs to, for messages medbot sends on its own (reminders, heartbeat, jobs): the person
 * whose identity the chat is, as actorFor; a group or a stranger's chat has no grants.
 */
export function actorForChat(
  config: Pick<MedbotConfig, "people">,
  channel: ChannelName,
  chatId: string,
): Actor {
  return actorFor(config, channel, directChatSender(channel, chatId));
}
