// The contract every channel adapter passes: start → running, each new message delivered exactly once
// (even when the platform hands it out twice), send reaches the chat, stop → stopped with no more polling.
import { afterEach, describe, expect, it, vi } from "vitest";
import type {
  ChannelAdapter,
  ChannelContext,
  DeliveryResult,
  InboundMessage,
  Refusal,
} from "../../src/channels/types.js";

/** How long a message may take to arrive: through a real mail server on a loaded machine, seconds. */
const DELIVERY_WAIT = { timeout: 15_000 };

/** A platform fake wired to one adapter, seen through what the contract needs. */
export interface ContractHarness {
  adapter: ChannelAdapter;
  /** The chat the harness's allowed sender writes in. */
  chatId: string;
  /** The allowed sender writes a new message. */
  userSays(text: string): void;
  /** The platform hands out every message it already handed out once more. */
  repeatDelivered(): void;
  /** Texts the adapter sent to `chatId`, as the platform received them. */
  sentTexts(): string[];
  /** How many receive requests (polls, fetches) the adapter has made. */
  receiveRequests(): number;
  close(): Promise<void>;
}

/** A ChannelContext as the gateway gives it, with what the adapter asked of it written down. */
export type RecordingContext = ChannelContext & {
  /** Every message the adapter delivered, refused ones included, in order. */
  delivered: InboundMessage[];
  /** The sender ids the adapter asked `mayInteract` about, in order. */
  asked: string[];
  /** What each delivery resolved to, in order: "denied" for a sender `allows` refuses. */
  results: DeliveryResult[];
  /** The messages the adapter refused itself (never delivered), with why, in order. */
  refused: (Refusal & { senderId: string })[];
  controller: AbortController;
};

/** A ChannelContext that records deliveries and lets in the senders `allows` accepts (everyone by default). */
export function recordingContext(allows: (senderId: string) => boolean = () => true): RecordingContext {
  const controller = new AbortController();
  const delivered: InboundMessage[] = [];
  const asked: string[] = [];
  const results: DeliveryResult[] = [];
  const refused: RecordingContext["refused"] = [];
  return {
    delivered,
    asked,
    results,
    refused,
    refuse: (message, refusal) => {
      refused.push({ senderId: message.senderId, ...refusal });
    },
    controller,
    signal: controller.signal,
    mayInteract: (message) => {
      asked.push(message.senderId);
      return allows(message.senderId);
    },
    // Like the gateway, a refused sender's message is still delivered, and answered "denied".
    deliver: async (message) => {
      delivered.push(message);
      const result = allows(message.senderId) ? "stored" : "denied";
      results.push(result);
      return result;
    },
  };
}

/**
 * A ChannelContext whose deliveries stay pending until the test calls `settle`, so it can see what the
 * adapter does (not acknowledge) while the inbox has not committed yet.
 */
export function heldContext(): ChannelContext & {
  delivered: InboundMessage[];
  /** Resolves every delivery still held with `result`. */
  settle(result: DeliveryResult): void;
} {
  const delivered: InboundMessage[] = [];
  const held: ((result: DeliveryResult) => void)[] = [];
  return {
    delivered,
    settle: (result) => {
      for (const resolve of held.splice(0)) resolve(result);
    },
    signal: new AbortController().signal,
    mayInteract: () => true,
    refuse: () => undefined,
    deliver: (message) => {
      delivered.push(message);
      return new Promise((resolve) => held.push(resolve));
    },
  };
}

/** A ChannelContext whose inbox fails the first delivery (a locked database) and stores every later one. */
export function failingOnceContext(): ChannelContext & {
  /** The text of every delivery attempt, the failed one first. */
  attempts: string[];
} {
  const attempts: string[] = [];
  return {
    attempts,
    signal: new AbortController().signal,
    mayInteract: () => true,
    refuse: () => undefined,
    deliver: async (message) => {
      attempts.push(message.text);
      if (attempts.length === 1) throw new Error("database is locked");
      return "stored";
    },
  };
}

/** Registers the shared adapter specs for one channel. */
export function adapterContract(name: string, makeHarness: () => Promise<ContractHarness>): void {
  describe(`${name} adapter contract`, () => {
    let harness: ContractHarness | undefined;
    afterEach(async () => {
      await harness?.adapter.stop();
      await harness?.close();
      harness = undefined;
    });

    it("is running after start and stopped after stop", async () => {
      harness = await makeHarness();
      const context = recordingContext();
      await harness.adapter.start(context);
      expect(harness.adapter.state()).toBe("running");
      await harness.adapter.stop();
      expect(harness.adapter.state()).toBe("stopped");
    });

    it("delivers a new message exactly once, even when the platform hands it out again", async () => {
      harness = await makeHarness();
      const context = recordingContext();
      await harness.adapter.start(context);
      harness.userSays("my blood pressure was 128/82");
      await vi.waitFor(() => expect(context.delivered).toHaveLength(1), DELIVERY_WAIT);
      harness.repeatDelivered();
      harness.userSays("and my pulse 64");
      await vi.waitFor(() => expect(context.delivered).toHaveLength(2), DELIVERY_WAIT);
      expect(context.delivered.map((message) => message.text)).toEqual([
        "my blood pressure was 128/82",
        "and my pulse 64",
      ]);
      expect(context.delivered[0]?.chatId).toBe(harness.chatId);
    });

    it("sends a reply to the chat", async () => {
      harness = await makeHarness();
      await harness.adapter.start(recordingContext());
      await harness.adapter.send({
        channel: harness.adapter.name,
        account: "any",
        chatId: harness.chatId,
        text: "Recorded **128/82** for Anna.",
      });
      expect(harness.sentTexts()).toHaveLength(1);
      expect(harness.sentTexts()[0]).toContain("128/82");
    });

    it("is stopped when the gateway's signal aborts", async () => {
      harness = await makeHarness();
      const context = recordingContext();
      await harness.adapter.start(context);
      context.controller.abort();
      await vi.waitFor(() => expect(harness?.adapter.state()).toBe("stopped"));
    });

    it("makes no receive request after stop resolved", async () => {
      harness = await makeHarness();
      await harness.adapter.start(recordingContext());
      await vi.waitFor(() => expect(harness?.receiveRequests()).toBeGreaterThan(0));
      await harness.adapter.stop();
      const requests = harness.receiveRequests();
      harness.userSays("are you there?");
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(harness.receiveRequests()).toBe(requests);
    });
  });
}
