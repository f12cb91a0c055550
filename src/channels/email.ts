// Email: reads one IMAP mailbox (IDLE, with a poll every pollIntervalSeconds as the fallback) and replies
// over SMTP. Per unseen message, only the headers are fetched first: a mail without exactly one From
// address, automatic or mailing-list mail (never answered, so no auto-reply loops), or a sender who may not
// interact gets nothing downloaded and no reply, and stays unseen for the mailbox owner to read. For an
// allowed sender the whole mail is fetched and, with requireAuthentication, its From domain must be proven
// (DKIM/DMARC or the server's own Authentication-Results, email-verify.ts) before it is delivered. Every
// refusal is reported through context.refuse; a DNS failure during the proof only defers the mail. A
// delivered mail is marked \Seen (markSeen) only after deliver resolved; a failed delivery leaves it
// unseen, to be tried again on the next check. Replies go to the From address, never to Reply-To, and
// carry Auto-Submitted (RFC 3834).
import { readFileSync } from "node:fs";
import { ImapFlow } from "imapflow";
import { type ParsedMail, simpleParser } from "mailparser";
import nodemailer, { type Transporter } from "nodemailer";
import type { SenderQuestion } from "../access/gate-contract.js";
import type { MedbotConfig } from "../config/schema.js";
import { type Logger, silentLogger } from "../log.js";
import { sleep } from "./backoff.js";
import { domainOf } from "./email-auth.js";
import { EmailAuthRecorder } from "./email-auth-state.js";
import {
  automaticMailReason,
  type DnsResolver,
  proveSender,
  repeatedHeaderProblem,
  type SenderProof,
  singleFromAddress,
  systemResolver,
} from "./email-verify.js";
import { ChannelLifecycle, receiveLoop } from "./lifecycle.js";
import type {
  ChannelAdapter,
  ChannelCapabilities,
  ChannelContext,
  ChannelState,
  InboundMessage,
  OutboundMessage,
} from "./types.js";

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

/** What the adapter uses besides the mail servers; tests pass a fake DNS resolver. */
export interface EmailServices {
  /** DNS for DKIM keys and DMARC records; default the system's. */
  resolver?: DnsResolver;
  logger?: Logger;
  /** Where the authentication state for `medbot doctor` is kept (email-auth-state.ts); none: not kept. */
  authStateFile?: string;
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
  /** State and the watch loop. */
  private readonly life = new ChannelLifecycle();
  private client: ImapFlow | undefined;
  private uidValidity = "";
  private transport: Transporter | undefined;
  /** Set by IDLE news (EXISTS); wakes the wait between checks. */
  private newsArrived = false;
  private wakeUp: (() => void) | undefined;
  /** "uidValidity:uid" of still-unseen messages already delivered or refused: bounded by the unseen mail. */
  private readonly handled = new Set<string>();
  private readonly deliveredIds = new Set<string>();
  private readonly resolver: DnsResolver;
  private readonly log: Logger;
  private readonly authState: EmailAuthRecorder;

  constructor(config: EmailConfig, timing: EmailTiming = {}, services: EmailServices = {}) {
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
    this.resolver = services.resolver ?? systemResolver;
    this.log = services.logger ?? silentLogger();
    this.authState = new EmailAuthRecorder(services.authStateFile);
  }

  /** Transport liveness: "running" while the IMAP connection is up. */
  state(): ChannelState {
    return this.life.state();
  }

  /** Logs in and opens the mailbox, then watches it in the background; rejects without consent or login. */
  async start(context: ChannelContext): Promise<void> {
    if (!this.config.consentGranted) {
      throw new Error(
        "channels.email.consentGranted is false: set it to true once the mailbox owner agreed that medbot reads it",
      );
    }
    const stopped = this.life.begin(context.signal);
    try {
      this.client = await this.connect();
    } catch (error) {
      this.life.fail();
      throw new Error(
        `IMAP ${this.config.imapHost}:${this.config.imapPort} mailbox "${this.config.imapMailbox}": ${describe(error)}; check channels.email.imap*`,
      );
    }
    this.life.mark("running");
    stopped.addEventListener("abort", () => this.client?.close(), { once: true });
    this.life.run(this.watch(context, stopped));
  }

  /** Ends IDLE, logs out and waits for the watch loop: no IMAP command is sent after this resolves. */
  async stop(): Promise<void> {
    await this.life.stop();
    this.transport?.close();
    this.transport = undefined;
    this.life.mark("stopped");
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
      // RFC 3834: responders (vacation replies) do not answer this, so two robots cannot loop.
      headers: { "Auto-Submitted": thread.messageId ? "auto-replied" : "auto-generated" },
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
      if (this.client === client && this.life.state() === "running") this.life.mark("starting");
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
    await receiveLoop(this.life, {
      signal,
      backoff: { baseMs: this.timing.backoffMs, maxMs: MAX_BACKOFF_MS },
      failuresUntilFailed: this.timing.failuresUntilFailed,
      round: async (healthy) => {
        this.client ??= await this.connect();
        if (signal.aborted) return "received";
        this.life.mark("running");
        await this.checkMailbox(this.client, context);
        healthy();
        await this.waitForNews(this.client, signal);
        // A drop backs off like a failed login: a server that keeps closing us gets no reconnect storm.
        if (!this.client.usable && !signal.aborted) throw new Error("the IMAP server closed the connection");
        return "received";
      },
      afterFailure: () => {
        this.life.mark("starting");
        this.client?.close();
        this.client = undefined;
      },
    });
    const client = this.client;
    this.client = undefined;
    if (client?.usable) await client.logout().catch(() => undefined);
    client?.close();
    this.life.mark("stopped");
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

  /** Headers first, then (for an allowed sender) the body, proven before delivery; false when delivery failed. */
  private async receive(client: ImapFlow, uid: number, context: ChannelContext): Promise<boolean> {
    const key = `${this.uidValidity}:${uid}`;
    this.timing.onReceiveRequest?.();
    const head =
      (await client.fetchOne(
        String(uid),
        { envelope: true, headers: true, size: true, internalDate: true },
        { uid: true },
      )) || undefined;
    const headers = head ? (head.headers?.toString("utf8") ?? "") : "";
    const from = head
      ? (repeatedHeaderProblem(headers) ?? singleFromAddress(headers))
      : { problem: "the message is gone" };
    if (!head || "problem" in from) {
      this.handled.add(key); // Refused: nothing more is downloaded, the message stays unseen, no reply.
      if (head && "problem" in from) {
        const claimed = head.envelope?.from?.[0]?.address?.toLowerCase() || "an unknown sender";
        context.refuse(senderOf(claimed), {
          reason: from.problem,
          remedy: "the sender must send a well-formed mail (one From address, each header once)",
        });
      }
      return true;
    }
    const sender = from.address;
    const messageId = head.envelope?.messageId || `<uid-${this.uidValidity}-${uid}@${this.account}>`;
    const automatic = automaticMailReason(headers);
    if (automatic) {
      this.handled.add(key); // Not for the agent and never answered: a vacation reply or a list post.
      this.log.info({ senderDomain: domainOf(sender), reason: automatic }, "automatic email not delivered");
      return true;
    }
    const probe = senderOf(sender);
    if (!context.mayInteract(probe)) {
      this.handled.add(key);
      context.refuse(probe, {
        reason: "the sender is not in channels.email.allowFrom",
        remedy: `add ${sender} to channels.email.allowFrom (or approve it by pairing)`,
      });
      return true;
    }
    const size = head.size ?? 0;
    let source: Buffer | undefined;
    if (size <= MAX_MESSAGE_BYTES) {
      this.timing.onReceiveRequest?.();
      const full = await client.fetchOne(String(uid), { source: true }, { uid: true });
      source = full ? full.source : undefined;
    }
    const proof = this.config.requireAuthentication
      ? await this.prove(source ?? headers, sender, source === undefined)
      : undefined;
    if (proof && !proof.proven && proof.temporary) {
      // Not handled: the next check fetches and tries it again; the DNS may answer by then.
      this.log.info({ senderDomain: domainOf(sender), reason: proof.reason }, "email sender proof deferred");
      return true;
    }
    if (proof && !proof.proven) {
      this.handled.add(key);
      this.authState.unproven(proof.reason);
      context.refuse(probe, { reason: `its sender is not proven: ${proof.reason}`, remedy: PROOF_REMEDY });
      return true;
    }
    // Checked only now: a forged mail reusing a delivered Message-ID is refused above, not quietly marked seen.
    if (this.deliveredIds.has(messageId)) {
      this.handled.add(key);
      await this.acknowledge(client, uid);
      return true;
    }
    const parsed = source ? await simpleParser(source) : undefined;
    const subject = parsed?.subject ?? head.envelope?.subject ?? "";
    const text = parsed
      ? messageText(parsed, this.config.maxBodyChars)
      : `${subject}\n\n(The email was too large to read: ${Math.round(size / 1024 / 1024)} MB.)`;
    const references = [parsed?.references ?? []].flat().join(" ");
    const name = head.envelope?.from?.[0]?.name;
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

  /** The sender's proof; a mail too large to download can only be proven by the server's own header. */
  private async prove(message: Buffer | string, sender: string, headersOnly: boolean): Promise<SenderProof> {
    const proof = await proveSender(message, {
      fromAddress: sender,
      authservId: this.config.authservId,
      resolver: this.resolver,
    }).catch(
      (error: unknown): SenderProof => ({
        proven: false,
        reason: `the DKIM check failed (${error instanceof Error ? error.message : String(error)})`,
      }),
    );
    if (proof.proven) this.authState.proven(proof.method);
    if (!proof.proven && headersOnly) {
      return { proven: false, reason: `the mail is too large to verify here, and ${proof.reason}` };
    }
    return proof;
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

/** What the owner can do when a mail's sender is not proven; README "Email" says the same at length. */
const PROOF_REMEDY =
  "the sender's provider must sign its mail with DKIM for the From domain (and publish DMARC), or set " +
  "channels.email.authservId to your mail server's id if it adds Authentication-Results above its Received header";

function senderOf(address: string): SenderQuestion {
  return { channel: "email", chatId: address, senderId: address, isGroup: false, mentioned: true };
}

/**
 * The new text of an email for the model: "Subject: …" then the body (plain text or the HTML as text,
 * quoted history and signature cut), so a reading written only in the subject is not lost. The subject
 * is left out when it is empty or the body already starts with it; the whole is capped at maxChars.
 */
export function messageText(parsed: Pick<ParsedMail, "text" | "subject">, maxChars: number): string {
  const body = trimQuotedReply(parsed.text ?? "");
  const subject = (parsed.subject ?? "").replace(/\s+/g, " ").trim();
  const repeated = !subject || body.replace(/\s+/g, " ").startsWith(subject);
  const text = repeated ? body : body ? `Subject: ${subject}\n\n${body}` : `Subject: ${subject}`;
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
