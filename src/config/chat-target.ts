// How config and the CLI name a chat ("telegram:123456", "email:ann@example.test"), split into its parts.
// The format is config's (schema.ts checks it); access/ asks whether such a chat may receive scheduled sends,
// and the scheduler sends to it, so both read it from here.
import type { ChannelName } from "./schema.js";

/** Where a scheduled message goes: one chat, as `channel:chatId` in config, split here. */
export interface ChatTarget {
  channel: ChannelName;
  chatId: string;
  /** The bot or mailbox that sends (empty: the channel's own). */
  account: string;
}

/** A chat as config and the CLI spell it, "channel:chatId" (validated there), sent through the channel's own account. */
export function parseChatTarget(text: string): ChatTarget {
  const colon = text.indexOf(":");
  return {
    channel: text.slice(0, colon) as ChatTarget["channel"],
    chatId: text.slice(colon + 1),
    account: "",
  };
}
