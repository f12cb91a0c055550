import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  EmailAdapter,
  type EmailTiming,
  messageText,
  replySubject,
  trimQuotedReply,
} from "../../src/channels/email.js";
import type { InboundMessage, OutboundMessage } from "../../src/channels/types.js";
import { dkimTestKey, fakeResolver, signingDomainRecords } from "../support/dkim.js";
import {
  appendMail,
  bobAlias,
  composedMail,
  emailConfig,
  flagsIn,
  freshMailbox,
  kickBot,
  mailsTo,
  markAllUnseen,
  rawMail,
  type SigningKey,
  sendThroughServer,
  startMailServer,
} from "../support/mail.js";
import { adapterContract, type ContractHarness, recordingContext } from "./contract.js";

const BOB = "bob@example.test";
const PASS = "spf=pass smtp.mailfrom=bob@example.test";
const SERVER_ID = "mail.example.test";
const FAST = { pollIntervalMs: 200, backoffMs: 50 };

/** The test domains' DKIM keys and DNS: example.test (Bob's provider) and the attackers' look-alikes. */
const KEYS = Object.fromEntries(
  ["example.test", "evil.test", "examp1e.test", "example.test.evil"].map((domain) => [domain, dkimTestKey()]),
);
const RESOLVER = fakeResolver(
  Object.assign(
    {},
    ...Object.entries(KEYS).map(([domain, key]) =>
      signingDomainRecords(domain, "medbot", key.publicKeyBase64),
    ),
  ),
);
/** The sending domain's key: what its provider signs outgoing mail with. */
const signer = (domainName: string): SigningKey => ({
  domainName,
  keySelector: "medbot",
  privateKey: KEYS[domainName]?.privateKey ?? "",
});
const SERVICES = { resolver: RESOLVER };

describe("email text for the model", () => {
  it("builds reply subjects without doubling the prefix and trims quoted history", () => {
    expect(replySubject("Blood pressure", "Re: ")).toBe("Re: Blood pressure");
    expect(replySubject("RE: Blood pressure", "Re: ")).toBe("RE: Blood pressure");
    expect(trimQuotedReply("128/82 today\n\nOn Mon, Bob wrote:\n> old")).toBe("128/82 today");
  });

  it("gives the subject and the body, the subject once", () => {
    expect(messageText({ subject: "BP 150/95", text: "after the walk" }, 1000)).toBe(
      "Subject: BP 150/95\n\nafter the walk",
    );
    expect(messageText({ subject: "BP 150/95", text: "" }, 1000)).toBe("Subject: BP 150/95");
    expect(messageText({ subject: "BP 150/95", text: "BP 150/95\nafter the walk" }, 1000)).toBe(
      "BP 150/95\nafter the walk",
    );
    expect(messageText({ subject: "", text: "pulse 64" }, 1000)).toBe("pulse 64");
    expect(messageText({ subject: "Re: BP", text: "150/95" }, 1000)).toBe("Subject: Re: BP\n\n150/95");
  });
});

const available = await startMailServer();
if (!available)
  console.warn("email tests skipped: dovecot/postfix cannot be installed here (needs root and apt-get)");

/** Waits for a mail server round trip: IMAP and Postfix's queue take longer than vi.waitFor's second. */
const ARRIVAL = { timeout: 15_000, interval: 100 };

/** The bot adapter whose send resolves once Postfix delivered the reply into Bob's inbox. */
class ArrivalAwaitingAdapter extends EmailAdapter {
  /** Texts of the replies that arrived at the harness's address, oldest first. */
  readonly arrived: string[] = [];

  override async send(message: OutboundMessage): Promise<void> {
    await super.send(message);
    // SMTP hands a reply to a queue; the contract reads sentTexts() right after send, so wait for the inbox.
    await vi.waitFor(async () => {
      const mails = await mailsTo(message.chatId);
      expect(mails.length).toBeGreaterThan(this.arrived.length);
      this.arrived.splice(0, this.arrived.length, ...mails.map((mail) => (mail.text ?? "").trim()));
    }, ARRIVAL);
  }
}

/** Bob (at an address of his own) writing to a fresh mailbox of the bot, read by the real adapter. */
async function emailHarness(): Promise<ContractHarness> {
  const mailbox = await freshMailbox();
  const bob = bobAlias();
  let receiveRequests = 0;
  const timing: EmailTiming = { ...FAST, onReceiveRequest: () => receiveRequests++ };
  const adapter = new ArrivalAwaitingAdapter(emailConfig(mailbox), timing, SERVICES);
  // The contract's steps are synchronous; the mailbox changes they ask for happen in the order asked.
  let pending: Promise<void> = Promise.resolve();
  const inOrder = (step: () => Promise<void>) => {
    pending = pending.then(step);
  };
  return {
    adapter,
    chatId: bob,
    userSays: (text) =>
      inOrder(async () =>
        appendMail(mailbox, await composedMail({ from: bob, subject: "", text }, signer("example.test"))),
      ),
    // Once the adapter acknowledged (seen) all it was handed, the server forgets that it did.
    repeatDelivered: () =>
      inOrder(async () => {
        await vi.waitFor(async () => {
          expect((await flagsIn(mailbox)).every((flags) => flags.includes("\\Seen"))).toBe(true);
        }, ARRIVAL);
        await markAllUnseen(mailbox);
      }),
    sentTexts: () => [...adapter.arrived],
    receiveRequests: () => receiveRequests,
    close: () => pending,
  };
}

describe.skipIf(!available)("email against Dovecot and Postfix", () => {
  adapterContract("email", emailHarness);
});

describe.skipIf(!available)("email adapter against Dovecot and Postfix", () => {
  let adapter: EmailAdapter | undefined;
  afterEach(async () => {
    await adapter?.stop();
    adapter = undefined;
  });

  it("refuses to start without consent, naming the key", async () => {
    const mailbox = await freshMailbox();
    adapter = new EmailAdapter(emailConfig(mailbox, { consentGranted: false }), FAST);
    await expect(adapter.start(recordingContext())).rejects.toThrow(/channels\.email\.consentGranted/);
  });

  it("delivers a DKIM-proven allowed message once and marks it seen after delivery", async () => {
    const mailbox = await freshMailbox();
    const raw = await composedMail(
      { from: BOB, subject: "BP", text: "my blood pressure was 128/82", messageId: "<bp1@example.test>" },
      signer("example.test"),
    );
    await sendThroughServer(mailbox, raw, BOB);
    await sendThroughServer(mailbox, raw, BOB);
    adapter = new EmailAdapter(emailConfig(mailbox), FAST, SERVICES);
    const ctx = recordingContext((sender) => sender === BOB);
    await adapter.start(ctx);
    expect(adapter.state()).toBe("running");
    await vi.waitFor(async () => expect(await flagsIn(mailbox)).toEqual([["\\Seen"], ["\\Seen"]]), ARRIVAL);
    expect(ctx.delivered).toHaveLength(1);
    expect(ctx.delivered[0]).toMatchObject({
      channel: "email",
      chatId: BOB,
      senderId: BOB,
      messageId: "<bp1@example.test>",
      text: "Subject: BP\n\nmy blood pressure was 128/82",
      replyContext: { subject: "BP" },
    });
    expect(ctx.refused).toEqual([]);
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
    adapter = new EmailAdapter(emailConfig(mailbox), FAST, SERVICES);
    const ctx = recordingContext((sender) => sender === BOB);
    await adapter.start(ctx);
    await vi.waitFor(() => expect(ctx.refused).toHaveLength(2), ARRIVAL);
    await adapter.stop();
    expect(ctx.delivered).toHaveLength(0);
    expect(ctx.refused).toEqual([
      expect.objectContaining({
        senderId: "mallory@elsewhere.test",
        reason: expect.stringMatching(/allowFrom/),
      }),
      expect.objectContaining({
        senderId: BOB,
        reason: expect.stringMatching(/not proven: no DKIM signature/),
        remedy: expect.stringMatching(/DKIM.*authservId/),
      }),
    ]);
    expect(await flagsIn(mailbox)).toEqual([[], []]);
  });

  it("delivers an allowed sender's mail without Authentication-Results when requireAuthentication is false", async () => {
    const mailbox = await freshMailbox();
    await appendMail(mailbox, rawMail({ from: BOB, subject: "weight", text: "72.4 kg this morning" }));
    adapter = new EmailAdapter(emailConfig(mailbox, { requireAuthentication: false }), FAST);
    const ctx = recordingContext((sender) => sender === BOB);
    await adapter.start(ctx);
    await vi.waitFor(() => expect(ctx.delivered).toHaveLength(1), ARRIVAL);
    expect(ctx.delivered[0]).toMatchObject({
      senderId: BOB,
      text: "Subject: weight\n\n72.4 kg this morning",
    });
    await vi.waitFor(async () => expect(await flagsIn(mailbox)).toEqual([["\\Seen"]]), ARRIVAL);
  });

  it("with authservId set, trusts only that server's Authentication-Results above its Received stamp", async () => {
    const mailbox = await freshMailbox();
    // rawMail's header names mail.example.test, above the server's stamp: trusted with that id, not another.
    await appendMail(mailbox, rawMail({ from: BOB, subject: "pulse", text: "pulse 64", authResults: PASS }));
    let checks = 0;
    const counting = { ...FAST, onReceiveRequest: () => checks++ };
    adapter = new EmailAdapter(emailConfig(mailbox, { authservId: "mx.example.test" }), counting);
    const refusing = recordingContext();
    await adapter.start(refusing);
    await vi.waitFor(() => expect(checks).toBeGreaterThanOrEqual(4), ARRIVAL); // two rounds: search + headers
    await adapter.stop();
    expect(refusing.delivered).toHaveLength(0);
    expect(await flagsIn(mailbox)).toEqual([[]]);

    adapter = new EmailAdapter(emailConfig(mailbox, { authservId: "Mail.Example.Test" }), FAST);
    const trusting = recordingContext();
    await adapter.start(trusting);
    await vi.waitFor(() => expect(trusting.delivered).toHaveLength(1), ARRIVAL);
    expect(trusting.delivered[0]?.text).toBe("pulse 64");
  });

  it("replies over SMTP threaded under the mail it answers, and attaches a document byte for byte", async () => {
    const mailbox = await freshMailbox();
    const bob = bobAlias();
    const thread = [`<start-${bob}>`, `<answer-${bob}>`];
    const messageId = `<bp-${bob}>`;
    await appendMail(
      mailbox,
      rawMail({
        from: bob,
        subject: "Re: Blood pressure",
        text: "128/82 this morning",
        messageId,
        references: thread,
        authResults: `spf=pass smtp.mailfrom=${bob}`,
      }),
    );
    adapter = new EmailAdapter(emailConfig(mailbox, { authservId: SERVER_ID }), FAST);
    const ctx = recordingContext();
    await adapter.start(ctx);
    await vi.waitFor(() => expect(ctx.delivered).toHaveLength(1), ARRIVAL);
    const inbound = ctx.delivered[0] as InboundMessage;
    const reply = { channel: "email", account: inbound.account, chatId: inbound.chatId } as const;
    await adapter.send({ ...reply, text: "Recorded 128/82 for Bob.", replyContext: inbound.replyContext });
    const dir = mkdtempSync(join(tmpdir(), "medbot-email-"));
    const pdf = minimalPdf("Bob: blood pressure 128/82");
    writeFileSync(join(dir, "export.pdf"), pdf);
    await adapter.send({
      ...reply,
      text: "Your export is attached.",
      replyContext: inbound.replyContext,
      document: { path: join(dir, "export.pdf"), filename: "Bob blood pressure.pdf" },
    });

    const mails = await vi.waitFor(async () => {
      const arrived = await mailsTo(bob);
      expect(arrived).toHaveLength(2);
      return arrived;
    }, ARRIVAL);
    for (const mail of mails) {
      expect(mail.from?.value[0]?.address).toBe("alice@example.test");
      expect(mail.subject).toBe("Re: Blood pressure");
      expect(mail.inReplyTo).toBe(messageId);
      expect([mail.references ?? []].flat()).toEqual([...thread, messageId]);
      expect(mail.headers.get("auto-submitted")).toBe("auto-replied");
    }
    const text = mails.find((mail) => mail.text?.includes("128/82"));
    expect(text?.text?.trim()).toBe("Recorded 128/82 for Bob.");
    expect(text?.attachments).toHaveLength(0);
    const withDocument = mails.find((mail) => mail.attachments.length > 0);
    expect(withDocument?.text?.trim()).toBe("Your export is attached.");
    expect(withDocument?.attachments).toHaveLength(1);
    const attachment = withDocument?.attachments[0];
    expect(attachment?.filename).toBe("Bob blood pressure.pdf");
    expect(attachment?.contentType).toBe("application/pdf");
    expect(attachment?.content.equals(pdf)).toBe(true);
  });

  it("reconnects on its own after the server drops the connection, then delivers new mail", async () => {
    const mailbox = await freshMailbox();
    adapter = new EmailAdapter(emailConfig(mailbox), FAST, SERVICES);
    const ctx = recordingContext((sender) => sender === BOB);
    await adapter.start(ctx);
    const states: string[] = [];
    const sample = setInterval(() => {
      const state = adapter?.state() ?? "none";
      if (state !== states.at(-1)) states.push(state);
    }, 2);
    try {
      await kickBot();
      await vi.waitFor(() => expect(states.length).toBeGreaterThan(1), ARRIVAL);
      await vi.waitFor(() => expect(states.at(-1)).toBe("running"), ARRIVAL);
    } finally {
      clearInterval(sample);
    }
    expect(states[0]).toBe("running");
    expect(states.slice(1, -1).length).toBeGreaterThan(0);
    await sendThroughServer(
      mailbox,
      await composedMail({ from: BOB, subject: "", text: "temperature 37.9" }, signer("example.test")),
      BOB,
    );
    await vi.waitFor(
      () => expect(ctx.delivered.map((message) => message.text)).toEqual(["temperature 37.9"]),
      ARRIVAL,
    );
  });
});

describe.skipIf(!available)("email sender proof through Postfix and Dovecot: the attacks", () => {
  let adapter: EmailAdapter | undefined;
  afterEach(async () => {
    await adapter?.stop();
    adapter = undefined;
  });

  /** Sends each mail through Postfix to a fresh mailbox, runs the adapter (Bob allowed) until all are decided. */
  async function received(
    mails: { raw: string; envelopeFrom: string }[],
    overrides: Record<string, unknown> = {},
  ) {
    const mailbox = await freshMailbox();
    for (const mail of mails) await sendThroughServer(mailbox, mail.raw, mail.envelopeFrom);
    await vi.waitFor(async () => expect(await flagsIn(mailbox)).toHaveLength(mails.length), ARRIVAL);
    adapter = new EmailAdapter(emailConfig(mailbox, overrides), FAST, SERVICES);
    const ctx = recordingContext((sender) => sender === BOB);
    await adapter.start(ctx);
    await vi.waitFor(() => expect(ctx.delivered.length + ctx.refused.length).toBe(mails.length), ARRIVAL);
    return { ctx, mailbox };
  }
  const genuine = (text = "no known allergies") =>
    composedMail({ from: BOB, subject: "allergies", text }, signer("example.test"));

  it("lets in a mail DKIM-signed by Bob's domain, and not the same mail with a changed body", async () => {
    const signed = await genuine();
    const changed = signed.replace("no known allergies", "stop taking the BP pills");
    expect(changed).not.toBe(signed);
    const { ctx, mailbox } = await received([
      { raw: signed, envelopeFrom: BOB },
      { raw: changed, envelopeFrom: BOB },
    ]);
    expect(ctx.delivered.map((message) => message.text)).toEqual([
      "Subject: allergies\n\nno known allergies",
    ]);
    expect(ctx.refused).toEqual([
      expect.objectContaining({
        senderId: BOB,
        reason: expect.stringMatching(
          /DKIM signature of example\.test does not verify \(body hash did not verify\)/,
        ),
      }),
    ]);
    expect(JSON.stringify(ctx.refused)).not.toMatch(/BP pills|allergies/);
    expect((await flagsIn(mailbox)).map(String).sort()).toEqual(["", "\\Seen"]);
  });

  it("never believes an Authentication-Results header the sender wrote, with or without authservId", async () => {
    const forged = () =>
      composedMail({
        from: BOB,
        subject: "allergies",
        text: "no known allergies",
        headers: {
          "Authentication-Results": `${SERVER_ID}; spf=pass smtp.mailfrom=${BOB}; dkim=pass header.d=example.test`,
        },
      });
    const withoutId = await received([{ raw: await forged(), envelopeFrom: BOB }]);
    expect(withoutId.ctx.delivered).toEqual([]);
    expect(withoutId.ctx.refused[0]?.reason).toMatch(/not proven: no DKIM signature/);
    await adapter?.stop();
    const withId = await received([{ raw: await forged(), envelopeFrom: BOB }], { authservId: SERVER_ID });
    expect(withId.ctx.delivered).toEqual([]);
    expect(withId.ctx.refused[0]?.reason).toMatch(/not proven/);
  });

  it("refuses a display-name spoof, two From headers, an added Subject and look-alike domains", async () => {
    const spoof = await composedMail(
      { from: `"${BOB}" <eve@evil.test>`, subject: "allergies", text: "no known allergies" },
      signer("evil.test"),
    );
    const twoFroms = (await genuine()).replace(/^From: .*$/m, (line) => `${line}\r\nFrom: eve@evil.test`);
    const addedSubject = `Subject: stop taking the BP pills\r\n${await genuine()}`;
    expect(twoFroms.match(/^From:/gm)).toHaveLength(2);
    const lookAlike = await composedMail(
      { from: "bob@examp1e.test", subject: "allergies", text: "no known allergies" },
      signer("examp1e.test"),
    );
    const suffixed = await composedMail(
      { from: BOB, subject: "allergies", text: "no known allergies" },
      signer("example.test.evil"),
    );
    const { ctx, mailbox } = await received([
      { raw: spoof, envelopeFrom: "eve@evil.test" },
      { raw: twoFroms, envelopeFrom: BOB },
      { raw: addedSubject, envelopeFrom: BOB },
      { raw: lookAlike, envelopeFrom: "bob@examp1e.test" },
      { raw: suffixed, envelopeFrom: BOB },
    ]);
    expect(ctx.delivered).toEqual([]);
    // Postfix delivers in its own order.
    expect(ctx.refused).toHaveLength(5);
    expect(ctx.refused).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ senderId: "eve@evil.test", reason: expect.stringMatching(/allowFrom/) }),
        expect.objectContaining({ senderId: BOB, reason: "the mail has 2 From headers" }),
        expect.objectContaining({ senderId: BOB, reason: "the mail has 2 Subject headers" }),
        expect.objectContaining({ senderId: "bob@examp1e.test", reason: expect.stringMatching(/allowFrom/) }),
        expect.objectContaining({
          senderId: BOB,
          reason: expect.stringMatching(/signature is by example\.test\.evil, not example\.test/),
        }),
      ]),
    );
    expect(await flagsIn(mailbox)).toEqual([[], [], [], [], []]);
  });

  it("tries a mail again after a DNS failure instead of refusing it for good", async () => {
    const mailbox = await freshMailbox();
    await sendThroughServer(mailbox, await genuine("weight 72.4 kg"), BOB);
    let failures = 2;
    const flaky = async (name: string, rrtype: string) => {
      if (failures-- > 0) throw Object.assign(new Error("queryTxt ESERVFAIL"), { code: "ESERVFAIL" });
      return RESOLVER(name, rrtype);
    };
    adapter = new EmailAdapter(emailConfig(mailbox), FAST, { resolver: flaky });
    const ctx = recordingContext((sender) => sender === BOB);
    await adapter.start(ctx);
    await vi.waitFor(() => expect(ctx.delivered).toHaveLength(1), ARRIVAL);
    expect(failures).toBeLessThan(0);
    expect(ctx.refused).toEqual([]);
  });

  it("hands no automatic or mailing-list mail to the agent, and does not count it as refused", async () => {
    const automatic = (headers: Record<string, string>) =>
      composedMail(
        { from: BOB, subject: "Out of office", text: "back on Monday", headers },
        signer("example.test"),
      );
    const mailbox = await freshMailbox();
    const automaticHeaders: Record<string, string>[] = [
      { "Auto-Submitted": "auto-replied" },
      { "List-Id": "<family.lists.example.test>" },
      { Precedence: "bulk" },
    ];
    for (const headers of automaticHeaders) {
      await sendThroughServer(mailbox, await automatic(headers), BOB);
    }
    await sendThroughServer(mailbox, await genuine("pulse 64"), BOB);
    adapter = new EmailAdapter(emailConfig(mailbox), FAST, SERVICES);
    const ctx = recordingContext((sender) => sender === BOB);
    await adapter.start(ctx);
    await vi.waitFor(() => expect(ctx.delivered).toHaveLength(1), ARRIVAL);
    expect(ctx.delivered[0]?.text).toBe("Subject: allergies\n\npulse 64");
    expect(ctx.refused).toEqual([]);
    expect((await flagsIn(mailbox)).map(String).sort()).toEqual(["", "", "", "\\Seen"]);
  });
});

/** A one-page PDF showing `text`, with a correct cross-reference table: small, but a real PDF. */
function minimalPdf(text: string): Buffer {
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    "",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  const stream = `BT /F1 12 Tf 72 770 Td (${text}) Tj ET`;
  objects[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  let body = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(body.length);
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) body += `${String(offset).padStart(10, "0")} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, "latin1");
}
