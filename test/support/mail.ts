// The local test mail server (scripts/test-mail-server.sh) seen from the tests: start it, write into a
// mailbox with IMAP APPEND, read what arrived, and the email config pointing at it.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { ImapFlow } from "imapflow";
import { type ParsedMail, simpleParser } from "mailparser";
import nodemailer from "nodemailer";
import { configSchema } from "../../src/config/schema.js";

const DIR = process.env.MEDBOT_MAILTEST_DIR ?? "/tmp/medbot-mailtest";
export const CA = `${DIR}/cert.pem`;
export const BOT_ADDRESS = "alice@example.test";
export const BOB_ADDRESS = "bob@example.test";

/** Starts (or reuses) the mail server; false only where it cannot be installed and this is not CI. */
export function startMailServer(): Promise<boolean> {
  return new Promise((resolve, reject) => {
    execFile("scripts/test-mail-server.sh", { timeout: 600_000 }, (error, _out, stderr) => {
      if (!error) return resolve(true);
      if (error.code === 3 && !process.env.CI) return resolve(false);
      reject(new Error(`test mail server did not start: ${stderr}`));
    });
  });
}

/** A logged-in IMAP client of a test user, over IMAPS. */
export async function mailClient(user: string): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: "127.0.0.1",
    port: 1993,
    secure: true,
    auth: { user, pass: "secret" },
    tls: { rejectUnauthorized: false },
    logger: false,
  });
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

/** A fresh mailbox in the bot's account, so each test reads only its own mail. */
export async function freshMailbox(): Promise<string> {
  const client = await mailClient(BOT_ADDRESS);
  const name = `t${randomUUID().slice(0, 8)}`;
  await client.mailboxCreate(name);
  await client.logout();
  return name;
}

/** The Received stamp the test server's Postfix puts on top of every mail it accepts. */
export const SERVER_STAMP =
  "Received: from sender.test (sender.test [192.0.2.7]) by mail.example.test (Postfix) with ESMTP";

/**
 * A raw RFC 5322 message. `authResults` is what the receiving server (authserv-id mail.example.test) would
 * add: its Authentication-Results on top, above its own Received stamp, as a server that checks mail does.
 */
export function rawMail(mail: {
  from: string;
  subject: string;
  text: string;
  messageId?: string;
  authResults?: string;
  /** Message-IDs of the thread so far, oldest first; the last one becomes In-Reply-To. */
  references?: string[];
}): string {
  const thread = mail.references ?? [];
  const headers = [
    ...(mail.authResults
      ? [`Authentication-Results: mail.example.test; ${mail.authResults}`, SERVER_STAMP]
      : []),
    `From: ${mail.from}`,
    `To: ${BOT_ADDRESS}`,
    `Subject: ${mail.subject}`,
    `Message-ID: ${mail.messageId ?? `<${randomUUID()}@example.test>`}`,
    ...(thread.length > 0 ? [`In-Reply-To: ${thread.at(-1)}`, `References: ${thread.join(" ")}`] : []),
    `Date: ${new Date().toUTCString()}`,
    "Content-Type: text/plain; charset=utf-8",
  ];
  return `${headers.join("\r\n")}\r\n\r\n${mail.text}\r\n`;
}

/** A DKIM key of a sending domain: the private half signs, the fake resolver serves the public half. */
export interface SigningKey {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

/** A raw message as nodemailer writes it, DKIM-signed with `key` when given; `headers` go above From. */
export async function composedMail(
  mail: {
    from: string;
    subject: string;
    text: string;
    messageId?: string;
    references?: string[];
    headers?: Record<string, string>;
  },
  key?: SigningKey,
): Promise<string> {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
  const thread = mail.references ?? [];
  const info = await transport.sendMail({
    from: mail.from,
    to: BOT_ADDRESS,
    subject: mail.subject,
    text: mail.text,
    messageId: mail.messageId ?? `<${randomUUID()}@example.test>`,
    ...(thread.length > 0 ? { inReplyTo: thread.at(-1), references: thread } : {}),
    ...(mail.headers ? { headers: mail.headers } : {}),
    ...(key ? { dkim: key } : {}),
  });
  return (info.message as Buffer).toString("utf8");
}

/**
 * Sends a raw message through the test server's Postfix (SMTP on 2525) into `mailbox` of the bot's account
 * (alice+mailbox@ lands there), as a mail from outside arrives: Postfix and Dovecot stamp it on the way.
 */
export async function sendThroughServer(mailbox: string, raw: string, envelopeFrom: string): Promise<void> {
  const transport = nodemailer.createTransport({
    host: "127.0.0.1",
    port: 2525,
    secure: false,
    ignoreTLS: true,
  });
  try {
    const to = BOT_ADDRESS.replace("@", `+${mailbox}@`);
    await transport.sendMail({ envelope: { from: envelopeFrom, to: [to] }, raw });
  } finally {
    transport.close();
  }
}

/** Appends a message, unseen, to a mailbox of the bot's account. */
export async function appendMail(mailbox: string, raw: string): Promise<void> {
  const client = await mailClient(BOT_ADDRESS);
  await client.append(mailbox, raw, []);
  await client.logout();
}

/** The flags of every message in a mailbox of the bot's account, by UID. */
export async function flagsIn(mailbox: string): Promise<string[][]> {
  const client = await mailClient(BOT_ADDRESS);
  await client.mailboxOpen(mailbox);
  const flags: string[][] = [];
  for await (const message of client.fetch("1:*", { flags: true })) flags.push([...(message.flags ?? [])]);
  await client.logout();
  return flags;
}

/** The email config of the bot's mailbox on the test server (IMAP with STARTTLS, SMTP with STARTTLS). */
export function emailConfig(mailbox: string, overrides: Record<string, unknown> = {}) {
  return configSchema.parse({
    channels: {
      email: {
        enabled: true,
        consentGranted: true,
        imapHost: "127.0.0.1",
        imapPort: 1143,
        imapUseSsl: false,
        imapUsername: BOT_ADDRESS,
        imapPassword: "secret",
        imapMailbox: mailbox,
        smtpHost: "127.0.0.1",
        smtpPort: 2525,
        smtpUsername: BOT_ADDRESS,
        smtpPassword: "secret",
        fromAddress: BOT_ADDRESS,
        tlsCa: CA,
        ...overrides,
      },
    },
  }).channels.email;
}

/** Makes every seen message of a mailbox unseen again, as if the server had lost the flag. */
export async function markAllUnseen(mailbox: string): Promise<void> {
  const client = await mailClient(BOT_ADDRESS);
  await client.mailboxOpen(mailbox);
  const seen = (await client.search({ seen: true }, { uid: true })) || [];
  if (seen.length > 0) await client.messageFlagsRemove(seen.join(","), ["\\Seen"], { uid: true });
  await client.logout();
}

/** The mails in Bob's inbox addressed to `address` (Postfix delivers bob+tag@ there too), oldest first. */
export async function mailsTo(address: string): Promise<ParsedMail[]> {
  const client = await mailClient(BOB_ADDRESS);
  await client.mailboxOpen("INBOX");
  const uids = (await client.search({ to: address }, { uid: true })) || [];
  const sources: Buffer[] = [];
  if (uids.length > 0) {
    for await (const message of client.fetch(uids.join(","), { source: true }, { uid: true })) {
      if (message.source) sources.push(message.source);
    }
  }
  await client.logout();
  const mails = await Promise.all(sources.map((source) => simpleParser(source)));
  // SEARCH TO matches substrings (bob+a1@ in bob+a12@); keep exact recipients only.
  return mails.filter((mail) =>
    [mail.to ?? []].flat().some((to) => to.value.some((entry) => entry.address === address)),
  );
}

/** A fresh address that lands in Bob's inbox, so a test reads only the replies sent to it. */
export function bobAlias(): string {
  return `bob+${randomUUID().slice(0, 8)}@example.test`;
}

/** Drops the bot's IMAP sessions on the server side, as a server restart or an idle timeout would. */
export async function kickBot(): Promise<void> {
  await promisify(execFile)("doveadm", ["-c", `${DIR}/dovecot.conf`, "kick", BOT_ADDRESS]);
}
