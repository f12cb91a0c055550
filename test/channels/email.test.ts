import { afterEach, describe, expect, it, vi } from "vitest";
import { EmailAdapter, replySubject, trimQuotedReply } from "../../src/channels/email.js";
import { senderAuthenticated } from "../../src/channels/email-auth.js";
import type { ChannelContext, InboundMessage } from "../../src/channels/types.js";
import { appendMail, emailConfig, flagsIn, freshMailbox, rawMail, startMailServer } from "../support/mail.js";

const BOB = "bob@example.test";
const PASS = "spf=pass smtp.mailfrom=bob@example.test";
const FAST = { pollIntervalMs: 200, backoffMs: 50 };

describe("email sender authentication", () => {
  it("accepts spf=pass or dkim=pass of the From domain in the topmost header only", () => {
    const header = (value: string) => `Authentication-Results: mx.example.test; ${value}\r\nFrom: x\r\n`;
    expect(senderAuthenticated(header(PASS), BOB)).toBe(true);
    expect(senderAuthenticated(header("dkim=pass header.d=example.test"), BOB)).toBe(true);
    expect(senderAuthenticated(header("spf=fail smtp.mailfrom=bob@example.test"), BOB)).toBe(false);
    expect(senderAuthenticated(header("spf=pass smtp.mailfrom=eve@attacker.test"), BOB)).toBe(false);
    expect(senderAuthenticated("From: x\r\n", BOB)).toBe(false);
    const forgedBelow = `${header("spf=fail smtp.mailfrom=bob@example.test")}Authentication-Results: x; ${PASS}\r\n`;
    expect(senderAuthenticated(forgedBelow, BOB)).toBe(false);
  });

  it("builds reply subjects without doubling the prefix and trims quoted history", () => {
    expect(replySubject("Blood pressure", "Re: ")).toBe("Re: Blood pressure");
    expect(replySubject("RE: Blood pressure", "Re: ")).toBe("RE: Blood pressure");
    expect(trimQuotedReply("128/82 today\n\nOn Mon, Bob wrote:\n> old")).toBe("128/82 today");
  });
});

const available = await startMailServer();
if (!available)
  console.warn("email tests skipped: dovecot/postfix cannot be installed here (needs root and apt-get)");

describe.skipIf(!available)("email adapter against Dovecot and Postfix", () => {
  let adapter: EmailAdapter | undefined;
  afterEach(async () => {
    await adapter?.stop();
    adapter = undefined;
  });

  function context(allowed: (sender: string) => boolean) {
    const delivered: InboundMessage[] = [];
    const mayInteract = vi.fn((message: { senderId: string }) => allowed(message.senderId));
    const ctx: ChannelContext & { delivered: InboundMessage[] } = {
      delivered,
      signal: new AbortController().signal,
      mayInteract,
      deliver: async (message) => {
        delivered.push(message);
        return "stored";
      },
    };
    return ctx;
  }

  it("refuses to start without consent, naming the key", async () => {
    const mailbox = await freshMailbox();
    adapter = new EmailAdapter(emailConfig(mailbox, { consentGranted: false }), FAST);
    await expect(adapter.start(context(() => true))).rejects.toThrow(/channels\.email\.consentGranted/);
  });

  it("delivers an authenticated allowed message once and marks it seen after delivery", async () => {
    const mailbox = await freshMailbox();
    const raw = rawMail({
      from: BOB,
      subject: "BP",
      text: "my blood pressure was 128/82",
      messageId: "<bp1@example.test>",
      authResults: PASS,
    });
    await appendMail(mailbox, raw);
    await appendMail(mailbox, raw);
    adapter = new EmailAdapter(emailConfig(mailbox), FAST);
    const ctx = context((sender) => sender === BOB);
    await adapter.start(ctx);
    expect(adapter.state()).toBe("running");
    await vi.waitFor(() =>
      expect((async () => (await flagsIn(mailbox)).every((f) => f.includes("\\Seen")))()).resolves.toBe(true),
    );
    expect(ctx.delivered).toHaveLength(1);
    expect(ctx.delivered[0]).toMatchObject({
      channel: "email",
      chatId: BOB,
      senderId: BOB,
      messageId: "<bp1@example.test>",
      text: "my blood pressure was 128/82",
      replyContext: { subject: "BP" },
    });
  });

  it("leaves a refused or unauthenticated sender's message unseen and undelivered", async () => {
    const mailbox = await freshMailbox();
    await appendMail(
      mailbox,
      rawMail({
        from: "mallory@elsewhere.test",
        subject: "hi",
        text: "x",
        authResults: "spf=pass smtp.mailfrom=mallory@elsewhere.test",
      }),
    );
    await appendMail(mailbox, rawMail({ from: BOB, subject: "spoof", text: "y" }));
    adapter = new EmailAdapter(emailConfig(mailbox), FAST);
    const ctx = context((sender) => sender === BOB);
    await adapter.start(ctx);
    await vi.waitFor(() => expect(ctx.mayInteract).toHaveBeenCalledTimes(1));
    await adapter.stop();
    expect(ctx.delivered).toHaveLength(0);
    expect(await flagsIn(mailbox)).toEqual([[], []]);
  });
});
