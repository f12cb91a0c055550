// Email: reads one IMAP mailbox (IDLE, with a poll every pollIntervalSeconds as the fallback) and replies
// over SMTP. Per unseen message, only the headers are fetched first: a sender who is not vouched for by the
// receiving server (requireAuthentication, see email-auth.ts) or may not interact gets nothing downloaded,
// no reply, and the message stays unseen for the mailbox owner to read. An allowed message is fetched,
// parsed, delivered, and marked \Seen (markSeen) only after deliver resolved; a failed delivery leaves it
// unseen, to be tried again on the next check. Replies go to the From address, never to Reply-To: an
// authenticated sender cannot redirect health content elsewhere with a header.
import { readFileSync } from "node:fs";
import { ImapFlow } from "imapflow";
import { type ParsedMail, simpleParser } from "mailparser";
import nodemailer, { type Transporter } from "nodemailer";
import type { MedbotConfig } from "../config/schema.js";
import { senderAuthenticated } from "./email-auth.js";
import type {
  ChannelAdapter,
  ChannelCapabilities,
  ChannelContext,
  ChannelState,
  InboundMessage,
  OutboundMessage,
} from "./types.js";
import { sleep } from "./wait.js";

export type EmailConfig = MedbotConfig["channels"]["email"];

/** Tuning for tests and slow servers; the defaults come from the config. */
export interface EmailTiming {
  /** Milliseconds between mailbox checks when IDLE reports nothing; default pollIntervalSeconds. */
  pollIntervalMs?: number;
  /** First backoff after a lost connection; doubles per try, up to a minute. */
  backoffMs?: number;
  /** Consecutive connection failures after which state() is "failed" (reconnecting goes on). */
  failuresUntilFailed?: number;
  /** Called before every receive request to the server: a SEARCH for unseen mail, a FETCH of one message. */
  onReceiveRequest?: () => void;
}

/** A message larger than this is not downloaded; its sender is told by its subject and a note only. */
const MAX_MESSAGE_BYTES = 20 * 1024 * 1024;
const MAX_BACKOFF_MS = 60_000;
/** Message-IDs remembered for de-duplication (the gateway's inbox de-duplicates for good). */
const REMEMBERED_IDS = 2000;

export class EmailAdapter implements ChannelAdapter {
  readonly name = "email" as const;
  readonly capabilities: ChannelCapabilities = { maxTextLength: 100_000, documents: true };
  private readonly config: EmailConfig;
  private readonly timing: Required<Omit<EmailTiming, "onReceiveRequest">> & EmailTiming;
  private readonly account: string;
  private readonly ca: string | undefined;
  private current: ChannelState = "stopped";
  private client: ImapFlow | undefined;
  private uidValidity = "";
  private aborter = new AbortController();
  private running: Promise<void> | undefined;
  private transport: Transporter | undefined;
  /** Set by IDLE news (EXISTS); wakes the wait between checks. */
  private newsArrived = false;
  private wakeUp: (() => void) | undefined;
  /** "uidValidity:uid" of still-unseen messages already delivered or refused: bounded by the unseen mail. */
  private readonly handled = new Set<string>();
  private readonly deliveredIds = new Set<string>();

  constructor(config: EmailConfig, timing: EmailTiming = {}) {
    for (const key of ["imapHost", "imapUsername", "smtpHost"] as const) {
      if (!config[key]) throw new Error(`channels.email.${key} is empty; set it to use the email channel`);
    }
    this.config = config;
    this.account = (config.fromAddress || config.imapUsername).toLowerCase();
    this.ca = config.tlsCa ? readFileSync(config.tlsCa, "utf8") : undefined;
    this.timing = {
      pollIntervalMs: config.pollIntervalSeconds * 1000,
      backoffMs: 1000,
      failuresUntilFailed: 5,
      ...timing,
    };
  }

  /** Transport liveness: "running" while the IMAP connection is up. */
  state(): ChannelState {
    return this.current;
  }

  /** Logs in and opens the mailbox, then watches it in the background; rejects without consent or login. */
  async start(context: ChannelContext): Promise<void> {
    if (!this.config.consentGranted) {
      throw new Error(
        "channels.email.consentGranted is false: set it to true once the mailbox owner agreed that medbot reads it",
      );
    }
    this.current = "starting";
    this.aborter = new AbortController();
    const stopped = AbortSignal.any([this.aborter.signal, context.signal]);
    try {
      this.client = await this.connect();
    } catch (error) {
      this.current = "failed";
      throw new Error(
        `IMAP ${this.config.imapHost}:${this.config.imapPort} mailbox "${this.config.imapMailbox}": ${describe(error)}; check channels.email.imap*`,
      );
    }
    this.current = "running";
    stopped.addEventListener("abort", () => this.client?.close(), { once: true });
    this.running = this.watch(context, stopped);
  }

  /** Ends IDLE, logs out and waits for the watch loop: no IMAP command is sent after this resolves. */
  async stop(): Promise<void> {
    this.aborter.abort();
    await this.running;
    this.running = undefined;
    this.transport?.close();
    this.transport = undefined;
    this.current = "stopped";
  }

  /** Replies over SMTP to the chat's address, threaded under the message it answers; attaches the document. */
  async send(message: OutboundMessage): Promise<void> {
    this.transport ??= nodemailer.createTransport({
      host: this.config.smtpHost,
      port: this.config.smtpPort,
      secure: this.config.smtpUseSsl,
      requireTLS: this.config.smtpUseTls && !this.config.smtpUseSsl,
      ...(this.config.smtpUsername
        ? { auth: { user: this.config.smtpUsername, pass: this.config.smtpPassword } }
        : {}),
      tls: this.tlsOptions(),
    });
    const thread = message.replyContext ?? {};
    const references = [...(thread.references ?? "").split(/\s+/), thread.messageId ?? ""].filter(Boolean);
    const document = message.document;
    await this.transport.sendMail({
      from: this.config.fromAddress || this.config.imapUsername,
      to: message.chatId,
      subject: message.subject ?? replySubject(thread.subject, this.config.subjectPrefix),
      text: message.text,
      ...(thread.messageId ? { inReplyTo: thread.messageId } : {}),
      ...(references.length > 0 ? { references } : {}),
      ...(document ? { attachments: [{ filename: document.filename, path: document.path }] } : {}),
    });
  }

  private tlsOptions() {
    return { rejectUnauthorized: this.config.tlsRejectUnauthorized, ...(this.ca ? { ca: this.ca } : {}) };
  }

  /** A logged-in client with the mailbox selected; IMAP without SSL must upgrade with STARTTLS. */
  private async connect(): Promise<ImapFlow> {
    const client = new ImapFlow({
      host: this.config.imapHost,
      port: this.config.imapPort,
      secure: this.config.imapUseSsl,
      doSTARTTLS: this.config.imapUseSsl ? undefined : true,
      auth: { user: this.config.imapUsername, pass: this.config.imapPassword },
      tls: this.tlsOptions(),
      logger: false,
    });
    // Errors also surface as a rejected command or a "close"; without a listener they would crash the process.
    client.on("error", () => undefined);
    client.on("exists", () => {
      this.newsArrived = true;
      this.wakeUp?.();
    });
    client.on("close", () => {
      if (this.client === client && this.current === "running") this.current = "starting";
      this.wakeUp?.();
    });
    try {
      await client.connect();
      const mailbox = await client.mailboxOpen(this.config.imapMailbox);
      this.uidValidity = String(mailbox.uidValidity);
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** Checks the mailbox, waits for IDLE news or the poll interval, again; reconnects with backoff on a drop. */
  private async watch(context: ChannelContext, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        this.client ??= await this.connect();
        if (signal.aborted) break;
        this.current = "running";
        await this.checkMailbox(this.client, context);
        failures = 0;
        await this.waitForNews(this.client, signal);
        // A drop backs off like a failed login: a server that keeps closing us gets no reconnect storm.
        if (!this.client.usable && !signal.aborted) throw new Error("the IMAP server closed the connection");
      } catch {
        if (signal.aborted) break;
        failures++;
        this.current = failures >= this.timing.failuresUntilFailed ? "failed" : "starting";
        this.client?.close();
        this.client = undefined;
        const delay = Math.min(this.timing.backoffMs * 2 ** (failures - 1), MAX_BACKOFF_MS);
        await sleep(delay, signal);
      }
    }
    const client = this.client;
    this.client = undefined;
    if (client?.usable) await client.logout().catch(() => undefined);
    client?.close();
    this.current = "stopped";
  }

  private async waitForNews(client: ImapFlow, signal: AbortSignal): Promise<void> {
    if (this.newsArrived || !client.usable) return;
    await sleep(this.timing.pollIntervalMs, signal, (wake) => {
      this.wakeUp = wake;
    });
    this.wakeUp = undefined;
  }

  /** Handles every unseen message not handled yet, oldest first; stops at the first failed delivery. */
  private async checkMailbox(client: ImapFlow, context: ChannelContext): Promise<void> {
    this.newsArrived = false;
    this.timing.onReceiveRequest?.();
    const uids = (await client.search({ seen: false }, { uid: true })) || [];
    // A message that is no longer unseen needs no record here; if it turns unseen again, deliveredIds answers.
    const unseen = new Set(uids.map((uid) => `${this.uidValidity}:${uid}`));
    for (const key of this.handled) if (!unseen.has(key)) this.handled.delete(key);
    for (const uid of uids.sort((a, b) => a - b)) {
      if (this.handled.has(`${this.uidValidity}:${uid}`)) continue;
      if (!(await this.receive(client, uid, context))) return;
    }
  }

  /** Headers first, then (for an allowed, authenticated sender) the body; false when delivery failed. */
  private async receive(client: ImapFlow, uid: number, context: ChannelContext): Promise<boolean> {
    const key = `${this.uidValidity}:${uid}`;
    this.timing.onReceiveRequest?.();
    const head = await client.fetchOne(
      String(uid),
      { envelope: true, headers: true, size: true, internalDate: true },
      { uid: true },
    );
    const from = head ? head.envelope?.from : undefined;
    const sender = from?.length === 1 ? from[0]?.address?.toLowerCase() : undefined;
    if (!head || !sender) {
      this.handled.add(key); // No single sender to answer: not medbot's business.
      return true;
    }
    const messageId = head.envelope?.messageId || `<uid-${this.uidValidity}-${uid}@${this.account}>`;
    if (this.deliveredIds.has(messageId)) {
      this.handled.add(key);
      await this.acknowledge(client, uid);
      return true;
    }
    const probe = {
      channel: "email" as const,
      chatId: sender,
      senderId: sender,
      isGroup: false,
      mentioned: true,
    };
    const headers = head.headers?.toString("utf8") ?? "";
    const vouched =
      !this.config.requireAuthentication || senderAuthenticated(headers, sender, this.config.authservId);
    if (!vouched || !context.mayInteract(probe)) {
      this.handled.add(key); // Refused: nothing more is downloaded, the message stays unseen, no reply.
      return true;
    }
    const size = head.size ?? 0;
    if (size <= MAX_MESSAGE_BYTES) this.timing.onReceiveRequest?.();
    const full =
      size <= MAX_MESSAGE_BYTES
        ? await client.fetchOne(String(uid), { source: true }, { uid: true })
        : undefined;
    const source = full ? full.source : undefined;
    const parsed = source ? await simpleParser(source) : undefined;
    const subject = parsed?.subject ?? head.envelope?.subject ?? "";
    const text = parsed
      ? messageText(parsed, this.config.maxBodyChars)
      : `${subject}\n\n(The email was too large to read: ${Math.round(size / 1024 / 1024)} MB.)`;
    const references = [parsed?.references ?? []].flat().join(" ");
    const name = from?.[0]?.name;
    const date = head.envelope?.date ?? head.internalDate;
    const inbound: InboundMessage = {
      channel: "email",
      account: this.account,
      chatId: sender,
      senderId: sender,
      messageId,
      text,
      isGroup: false,
      mentioned: true,
      ...(name ? { senderName: name } : {}),
      replyContext: { messageId, ...(references ? { references } : {}), subject },
      receivedAt: (date ? new Date(date) : new Date()).toISOString(),
    };
    try {
      await context.deliver(inbound);
    } catch {
      return false; // Not stored: stays unseen and unhandled, so the next check tries again.
    }
    this.handled.add(key);
    this.remember(messageId);
    await this.acknowledge(client, uid);
    return true;
  }

  private async acknowledge(client: ImapFlow, uid: number): Promise<void> {
    if (this.config.markSeen) await client.messageFlagsAdd(String(uid), ["\\Seen"], { uid: true });
  }

  private remember(messageId: string): void {
    this.deliveredIds.add(messageId);
    if (this.deliveredIds.size > REMEMBERED_IDS) {
      const oldest = this.deliveredIds.values().next().value;
      if (oldest !== undefined) this.deliveredIds.delete(oldest);
    }
  }
}

/** "Re: <original>", without doubling a prefix the subject already has; "medbot" when there is none. */
export function replySubject(original: string | undefined, prefix: string): string {
  const subject = (original ?? "").trim();
  if (!subject) return "medbot";
  const marker = prefix.trim().toLowerCase();
  if (marker && subject.toLowerCase().startsWith(marker)) return subject;
  return `${prefix}${subject}`;
}

/** The new text of an email: plain text (or the HTML as text), quoted history and signature cut, capped. */
export function messageText(parsed: Pick<ParsedMail, "text" | "subject">, maxChars: number): string {
  const body = trimQuotedReply(parsed.text ?? "");
  const text = body || (parsed.subject ?? "").trim();
  return text.length > maxChars
    ? `${text.slice(0, maxChars)}\n[… email cut at ${maxChars} characters]`
    : text;
}

/** Drops what a reply quotes: "> " lines, and everything from "On … wrote:", "-----Original Message-----" or "-- ". */
export function trimQuotedReply(text: string): string {
  const kept: string[] = [];
  for (const line of text.replace(/\r\n/g, "\n").split("\n")) {
    if (/^On .+wrote:\s*$/.test(line) || /^-{2,}\s*Original Message\s*-{2,}/i.test(line) || line === "-- ") {
      break;
    }
    if (/^\s*>/.test(line)) continue;
    kept.push(line);
  }
  return kept.join("\n").trim();
}

function describe(error: unknown): string {
  if (error && typeof error === "object" && "responseText" in error && error.responseText) {
    return String(error.responseText);
  }
  return error instanceof Error ? error.message : String(error);
}
