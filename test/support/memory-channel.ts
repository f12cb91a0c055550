// An in-memory ChannelAdapter for gateway tests: inject messages, read what was sent, make it fail.
import type {
  ChannelAdapter,
  ChannelCapabilities,
  ChannelContext,
  ChannelState,
  DeliveryResult,
  InboundMessage,
  OutboundMessage,
} from "../../src/channels/types.js";
import type { ChannelName } from "../../src/config/schema.js";

export class MemoryChannel implements ChannelAdapter {
  readonly capabilities: ChannelCapabilities;
  readonly sent: OutboundMessage[] = [];
  starts = 0;
  /** Start attempts still to reject (a channel that cannot connect yet). */
  failStarts = 0;
  /** Sends still to reject. */
  failSends = 0;
  /** Texts this platform always refuses (a message it cannot take). */
  refuses: (text: string) => boolean = () => false;
  /** Send attempts refused, by text. */
  readonly refused: string[] = [];
  private current: ChannelState = "stopped";
  private context: ChannelContext | undefined;
  private nextId = 1;

  constructor(
    readonly name: ChannelName = "telegram",
    maxTextLength = 4096,
  ) {
    this.capabilities = { maxTextLength, documents: false };
  }

  async start(context: ChannelContext): Promise<void> {
    this.starts++;
    this.current = "starting";
    if (this.failStarts > 0) {
      this.failStarts--;
      this.current = "failed";
      throw new Error("cannot connect");
    }
    this.context = context;
    this.current = "running";
  }

  async stop(): Promise<void> {
    this.current = "stopped";
    this.context = undefined;
  }

  async send(message: OutboundMessage): Promise<void> {
    if (this.failSends > 0 || this.refuses(message.text)) {
      this.failSends = Math.max(0, this.failSends - 1);
      this.refused.push(message.text);
      throw new Error("network down");
    }
    this.sent.push(message);
  }

  state(): ChannelState {
    return this.current;
  }

  /** Simulates the transport dropping (the gateway should restart it). */
  crash(): void {
    this.current = "failed";
  }

  /** Delivers a message as the platform would; the gateway must be running this channel. */
  deliver(partial: Partial<InboundMessage> & { text: string }): Promise<DeliveryResult> {
    if (!this.context) throw new Error(`${this.name} channel is not running`);
    return this.context.deliver(this.message(partial));
  }

  /** A complete inbound message from defaults: chat "chat-1", sender "alice", a fresh message id. */
  message(partial: Partial<InboundMessage> & { text: string }): InboundMessage {
    return {
      channel: this.name,
      account: "bot-1",
      chatId: "chat-1",
      senderId: "alice",
      messageId: String(this.nextId++),
      isGroup: false,
      mentioned: false,
      receivedAt: "2026-11-22T06:00:00.000Z",
      ...partial,
    };
  }

  /** Texts sent to one chat, in order. */
  textsTo(chatId: string): string[] {
    return this.sent.filter((message) => message.chatId === chatId).map((message) => message.text);
  }
}
