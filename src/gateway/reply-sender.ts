// The outbox's sending side: each chat's unsent replies go out one chunk at a time, in order, in the chat's own
// chain, so a chat waiting out a rate limit or a retry never holds up another chat. A chunk is recorded after
// the platform took it (at-least-once per chunk; only the chunk in flight at a crash can repeat).

import { type BackoffPolicy, restartDelay } from "../channels/backoff.js";
import { chunkText } from "../channels/chunk.js";
import type { ChannelAdapter, OutboundMessage } from "../channels/types.js";
import type { MessageQueue, OutboxRow } from "../delivery/queue.js";
import type { Logger } from "../log.js";

/** Failed sends, with backoff between them, after which a reply is given up (a platform that keeps refusing it). */
const MAX_SEND_FAILURES = 10;

/** Sends the outbox's replies through the channels. */
export class ReplySender {
  /** The running outbox drain of each chat (channel, account, chat id). */
  private readonly sending = new Map<string, Promise<void>>();
  /** Chats whose drain should look at the outbox again when it finishes. */
  private readonly sendAgain = new Set<string>();
  private readonly sendRetries = new Map<number, { failures: number; nextAt: number }>();

  constructor(
    private readonly queue: MessageQueue,
    private readonly channelNamed: (name: string) => ChannelAdapter | undefined,
    private readonly log: Logger,
    private readonly backoff: BackoffPolicy,
    private readonly random: (() => number) | undefined,
    /** Told of a drain that failed (a storage failure shows in /healthz). */
    private readonly onDrainError: (error: unknown) => void,
  ) {}

  /** Resolves when every running drain has finished. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.sending.values());
  }

  /** Sends a channel's unsent replies: each chat drains in its own chain, so one chat's wait holds up no other. */
  sendUnsent(channelName: string): void {
    const channel = this.channelNamed(channelName);
    if (channel?.state() !== "running") return; // sent after the channel (re)starts
    const chats = new Map(this.queue.unsent(channel.name).map(({ message }) => [chatOf(message), message]));
    for (const [key, chat] of chats) this.drainChat(channel, key, chat);
  }

  /** Starts the chat's drain, or, if one is running, has it look again when done (so calls never pile up). */
  private drainChat(
    channel: ChannelAdapter,
    key: string,
    chat: Pick<OutboundMessage, "account" | "chatId">,
  ): void {
    if (this.sending.has(key)) {
      this.sendAgain.add(key);
      return;
    }
    const run = async () => {
      do {
        this.sendAgain.delete(key);
        await this.drain(channel, chat);
      } while (this.sendAgain.has(key));
    };
    const done = run()
      .catch((error) => {
        this.onDrainError(error);
        this.log.error({ channel: channel.name, error: errorText(error) }, "outbox drain failed");
      })
      .finally(() => this.sending.delete(key));
    this.sending.set(key, done);
  }

  /** Sends one chat's unsent replies in order, one at a time, until one fails or waits for its retry. */
  private async drain(
    channel: ChannelAdapter,
    chat: Pick<OutboundMessage, "account" | "chatId">,
  ): Promise<void> {
    for (const row of this.queue.unsent(channel.name, chat)) {
      if (channel.state() !== "running") return;
      const retry = this.sendRetries.get(row.id);
      // A reply waiting for its retry holds back the chat's newer replies, so the chat keeps its order.
      if (retry && retry.nextAt > Date.now()) return;
      if (!(await this.sendReply(channel, row))) return;
    }
  }

  /** Sends the unsent chunks of one reply; false when a send failed (retried later, or given up). */
  private async sendReply(channel: ChannelAdapter, row: OutboxRow): Promise<boolean> {
    const { document, ...message } = row.message;
    const chunks = chunkText(message.text, channel.capabilities.maxTextLength);
    // A document goes with the last chunk (alone under an empty text if there is none), so it is sent once.
    if (chunks.length === 0 && document) chunks.push("");
    if (chunks.length === 0) this.queue.chunkSent(row.id, -1, true);
    for (let index = row.chunksSent; index < chunks.length; index++) {
      const attachment = document && index === chunks.length - 1 ? { document } : {};
      try {
        await channel.send({ ...message, text: chunks[index]!, ...attachment });
      } catch (error) {
        this.sendFailed(channel, row.id, error);
        return false;
      }
      this.queue.chunkSent(row.id, index, index === chunks.length - 1);
    }
    this.sendRetries.delete(row.id);
    this.log.info({ channel: channel.name, outboxId: row.id, chunks: chunks.length }, "reply sent");
    return true;
  }

  private sendFailed(channel: ChannelAdapter, outboxId: number, error: unknown): void {
    const failures = (this.sendRetries.get(outboxId)?.failures ?? 0) + 1;
    const detail = { channel: channel.name, outboxId, failures, error: errorText(error) };
    if (failures >= MAX_SEND_FAILURES) {
      this.sendRetries.delete(outboxId);
      this.queue.giveUp(outboxId);
      this.log.error(detail, "reply refused too often; given up (see gateway_outbox.failed_at)");
      return;
    }
    const delay = restartDelay(failures - 1, this.backoff, this.random);
    this.sendRetries.set(outboxId, { failures, nextAt: Date.now() + delay });
    this.log.warn({ ...detail, delayMs: delay }, "send failed; will retry");
  }
}

/** The outbox's unit of order: replies to one chat go out one at a time, chats independently. */
function chatOf(message: OutboundMessage): string {
  return JSON.stringify([message.channel, message.account, message.chatId]);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
