// The adapter contract: a channel translates between its platform and these shapes. It decides no policy:
// who may talk (access/), what may leave (security/) and what is stored (gateway/) live elsewhere.
import type { SenderQuestion } from "../access/gate-contract.js";
import type { ChannelName } from "../config/schema.js";

/** A message as it arrived, translated from the platform. */
export interface InboundMessage {
  channel: ChannelName;
  /** The bot or mailbox that received it (a bot id, an email address). */
  account: string;
  chatId: string;
  senderId: string;
  /** The platform's id of the message; with channel, account and chat it de-duplicates. */
  messageId: string;
  text: string;
  isGroup: boolean;
  /** In a group: the bot was mentioned or replied to. */
  mentioned: boolean;
  senderName?: string;
  /** Platform details the reply needs (email Message-ID and References, a thread id). */
  replyContext?: Record<string, string>;
  receivedAt: string;
}

/** A reply or notice to one chat. */
export interface OutboundMessage {
  channel: ChannelName;
  account: string;
  chatId: string;
  /** Markdown; the adapter renders it for its platform and splits it to its limit. */
  text: string;
  replyContext?: Record<string, string>;
  /** A file to attach (an export PDF), already inside the workspace. */
  document?: { path: string; filename: string };
  /** The subject of a message that starts a conversation (email to a contact); replies take theirs from replyContext. */
  subject?: string;
}

/** Why an adapter refused a message before delivery, in words for the owner: no message content. */
export interface Refusal {
  /** "the DKIM signature of example.test does not verify (body hash did not verify)". */
  reason: string;
  /** What the owner can do to let such a message in: "add bob@example.test to channels.email.allowFrom". */
  remedy: string;
}

export type DeliveryResult = "stored" | "duplicate" | "denied";

/** What the gateway gives an adapter when it starts. */
export interface ChannelContext {
  /**
   * Checks access, then stores the message in the durable inbox. Resolves after the row is committed
   * (or the message was refused); only then may the adapter acknowledge it to its platform.
   */
  deliver(message: InboundMessage): Promise<DeliveryResult>;
  /** Whether this sender may get side effects (download, typing indicator) before delivery. */
  mayInteract(message: SenderQuestion): boolean;
  /** Reports a message the adapter refused without delivering it (audit, log, count): never silent. */
  refuse(message: SenderQuestion, refusal: Refusal): void;
  /** Cancelled when the gateway stops. */
  signal: AbortSignal;
}

export interface ChannelCapabilities {
  /** Longest text one platform message may carry, after rendering. */
  maxTextLength: number;
  documents: boolean;
}

export type ChannelState = "starting" | "running" | "stopped" | "failed";

export interface ChannelAdapter {
  readonly name: ChannelName;
  readonly capabilities: ChannelCapabilities;
  /** Connects and begins receiving; resolves once running. Rejects if it cannot start. */
  start(context: ChannelContext): Promise<void>;
  /** Stops receiving and closes connections. */
  stop(): Promise<void>;
  /** Sends one reply (already chunked by the gateway to maxTextLength). */
  send(message: OutboundMessage): Promise<void>;
  /** Transport liveness, for /healthz and the supervisor: not how quiet the chat is. */
  state(): ChannelState;
  /**
   * Why the channel stopped for good (a wrong token, another process polling the same bot): restarting
   * cannot help, so the gateway does not, and logs this instead. Undefined while it may recover.
   */
  problem?(): string | undefined;
}
