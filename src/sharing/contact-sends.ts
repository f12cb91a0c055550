// Archive content leaving for a contact (a clinician): the agent only prepares a draft (which member, which
// export, to whom) with a short code; the send happens when a person granted that member types
// "/confirm CODE" themselves. The model never confirms: the command is read from the person's own message
// before any model sees it. The file is fixed when drafted (its SHA-256 is kept), so what is confirmed is
// exactly what leaves. Drafts expire; drafting, sending and cancelling are audited. The draft the person
// confirms is composed here from the stored contact, never from model text.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { type Actor, mayAccess } from "../access/actor.js";
import type { FamilyArchive } from "../archive/archive.js";
import { DEFAULT_SYMPTOM_DAYS, exportMedicalRecord } from "../archive/export/index.js";
import { memberTimeZone } from "../archive/record-text.js";
import { addDays, memberFolder } from "../archive/render.js";
import { appendAudit } from "../audit/audit-log.js";
import type { MedbotConfig } from "../config/schema.js";
import { MessageQueue } from "../delivery/queue.js";
import { oneTimeCode } from "../security/one-time-code.js";
import { nowIso, writeTransaction } from "../storage/db.js";
import { todayIn } from "../time/dates.js";

export type Contact = MedbotConfig["contacts"][number];

/** How long a draft waits for its confirmation. */
export const DRAFT_TTL_MS = 30 * 60 * 1000;
const DRAFT_CODE_LENGTH = 6;
/** Channels whose adapters can send a document. */
const DOCUMENT_CHANNELS: readonly Contact["channel"][] = ["email", "telegram", "whatsapp"];

/** A refused draft, confirmation or cancellation; the message says why and what to do. */
export class EgressError extends Error {}

export interface ContactDraft {
  code: string;
  memberId: string;
  contact: Contact;
  /** The export file, relative to the workspace. */
  file: string;
  sha256: string;
  requestedBy: string;
  expiresAt: string;
  /** A pending draft past expiresAt can no longer be confirmed. */
  status: "pending" | "sent" | "cancelled";
  outboxId: number | null;
}

/** A new draft and what its export covers, for the text the person confirms. */
export interface DraftedSend extends ContactDraft {
  /** The day the export was made, in the member's timezone. */
  made: string;
  /** The first day of its symptom window; null for an earlier export (its window is not recorded). */
  symptomsSince: string | null;
}

interface DraftRecord {
  code: string;
  member_id: string;
  contact_name: string;
  contact_channel: Contact["channel"];
  contact_address: string;
  file: string;
  sha256: string;
  requested_by: string;
  expires_at: string;
  status: ContactDraft["status"];
  outbox_id: number | null;
}

export interface DraftRequest {
  member: string;
  /** A contact's name (or address) from config `contacts`. */
  contact: string;
  /** An existing export PDF in the member's folder; default: a new PDF export made now. */
  exportFile?: string;
  /** Symptom window of a new export. */
  days?: number;
}

/** Drafts, confirmations and cancellations of sends to contacts, over one archive and workspace. */
export class ContactSends {
  private readonly clock: () => Date;

  constructor(
    private readonly archive: FamilyArchive,
    private readonly config: Pick<MedbotConfig, "contacts" | "channels">,
    private readonly workspace: string,
  ) {
    this.clock = archive.clock;
  }

  /** Prepares a draft for a member the actor may see; nothing is sent. */
  async draft(actor: Actor, request: DraftRequest): Promise<DraftedSend> {
    const contact = this.contactNamed(request.contact);
    if (!DOCUMENT_CHANNELS.includes(contact.channel)) {
      throw new EgressError(
        `${contact.name} is reached by ${contact.channel}, which cannot carry a PDF here.`,
      );
    }
    if (!this.config.channels[contact.channel].enabled) {
      throw new EgressError(
        `${contact.name} is reached by ${contact.channel}, but channels.${contact.channel} is not enabled.`,
      );
    }
    const member = this.archive.member(actor, request.member);
    const file = request.exportFile
      ? this.existingExport(member.id, request.exportFile)
      : await this.newExport(actor, member.id, request.days);
    const now = this.clock();
    const zone = memberTimeZone(member);
    const made = request.exportFile ? todayIn(zone, this.madeAt(member.id, file)) : todayIn(zone, now);
    const symptomsSince = request.exportFile ? null : addDays(made, -(request.days ?? DEFAULT_SYMPTOM_DAYS));
    const draft: ContactDraft = {
      code: oneTimeCode(DRAFT_CODE_LENGTH),
      memberId: member.id,
      contact,
      file: path.relative(this.workspace, file),
      sha256: fileHash(file),
      requestedBy: actor.person,
      expiresAt: new Date(now.getTime() + DRAFT_TTL_MS).toISOString(),
      status: "pending",
      outboxId: null,
    };
    const { db } = this.archive;
    writeTransaction(db, () => {
      db.prepare(
        `INSERT INTO contact_drafts (code, member_id, contact_name, contact_channel, contact_address, file,
           sha256, requested_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        draft.code,
        draft.memberId,
        contact.name,
        contact.channel,
        contact.address,
        draft.file,
        draft.sha256,
        draft.requestedBy,
        nowIso(this.clock),
        draft.expiresAt,
      );
      this.audit(actor, "contact.draft", draft);
    });
    return { ...draft, made, symptomsSince };
  }

  /** Sends a pending draft: queues the export for its contact, if the actor is granted its member. */
  confirm(actor: Actor, code: string): ContactDraft {
    const { db } = this.archive;
    return writeTransaction(db, () => {
      const draft = this.pending(actor, code);
      const absolute = path.join(this.workspace, draft.file);
      if (!fs.existsSync(absolute) || fileHash(absolute) !== draft.sha256) {
        throw new EgressError(
          `${draft.file} changed or is gone since the draft was made; nothing was sent. Ask for a new draft.`,
        );
      }
      const outboxId = new MessageQueue(db, this.clock).send({
        channel: draft.contact.channel,
        account: "",
        chatId: draft.contact.address,
        subject: `Medical summary: ${this.memberName(actor, draft.memberId)}`,
        text: coverNote(draft, this.memberName(actor, draft.memberId), actor.person),
        document: { path: absolute, filename: path.basename(draft.file) },
      });
      this.decide(draft.code, "sent", actor, outboxId);
      const sent = { ...draft, status: "sent" as const, outboxId };
      this.audit(actor, "contact.send", sent);
      return sent;
    });
  }

  /** Withdraws a pending draft. */
  cancel(actor: Actor, code: string): ContactDraft {
    const { db } = this.archive;
    return writeTransaction(db, () => {
      const draft = this.pending(actor, code);
      this.decide(draft.code, "cancelled", actor, null);
      const cancelled = { ...draft, status: "cancelled" as const };
      this.audit(actor, "contact.cancel", cancelled);
      return cancelled;
    });
  }

  /** The member's display name, as the actor may see it. */
  memberName(actor: Actor, memberId: string): string {
    return this.archive.member(actor, memberId).displayName;
  }

  /** The pending draft with this code that the actor may decide; throws EgressError otherwise. */
  private pending(actor: Actor, code: string): ContactDraft {
    const wanted = code.trim().toUpperCase();
    const record = this.archive.db.prepare("SELECT * FROM contact_drafts WHERE code = ?").get(wanted) as
      | DraftRecord
      | undefined;
    // A person who may not see the member learns nothing about the draft, not even that it exists.
    if (!record || !mayAccess(actor, record.member_id)) {
      throw new EgressError(`There is no draft with the code ${wanted} for you; nothing was sent.`);
    }
    const draft = fromRecord(record);
    if (draft.status !== "pending") {
      throw new EgressError(`The draft ${wanted} was already ${draft.status}; nothing more was sent.`);
    }
    if (Date.parse(draft.expiresAt) <= this.clock().getTime()) {
      throw new EgressError(`The draft ${wanted} expired; nothing was sent. Ask for a new draft.`);
    }
    return draft;
  }

  private decide(code: string, status: ContactDraft["status"], actor: Actor, outboxId: number | null): void {
    this.archive.db
      .prepare(
        "UPDATE contact_drafts SET status = ?, decided_by = ?, decided_at = ?, outbox_id = ? WHERE code = ?",
      )
      .run(status, actor.person, nowIso(this.clock), outboxId, code);
  }

  private contactNamed(name: string): Contact {
    const wanted = name.trim().toLowerCase();
    const contact = this.config.contacts.find(
      (candidate) => candidate.name.toLowerCase() === wanted || candidate.address.toLowerCase() === wanted,
    );
    if (contact) return contact;
    const known = this.config.contacts.map((candidate) => candidate.name);
    throw new EgressError(
      known.length === 0
        ? "No contacts are configured: the owner adds them under contacts in config.json (name, channel, address)."
        : `"${name}" is not a configured contact. Contacts: ${known.join(", ")}. Only these can receive records.`,
    );
  }

  private existingExport(memberId: string, fileName: string): string {
    const name = path.basename(fileName);
    const file = path.join(memberFolder(this.workspace, memberId), name);
    if (name !== fileName || !/^doctor_export_.*\.pdf$/.test(name) || !fs.existsSync(file)) {
      throw new EgressError(
        `"${fileName}" is not an export PDF in ${memberId}'s folder; leave the file out to make a new export.`,
      );
    }
    return file;
  }

  /** When an earlier export was written: its `exports` row, else the file's time. */
  private madeAt(memberId: string, file: string): Date {
    const row = this.archive.db
      .prepare("SELECT created_at FROM exports WHERE member_id = ? AND file = ? ORDER BY id DESC LIMIT 1")
      .get(memberId, path.relative(this.workspace, file)) as { created_at: string } | undefined;
    return row ? new Date(row.created_at) : fs.statSync(file).mtime;
  }

  private async newExport(actor: Actor, memberId: string, days: number | undefined): Promise<string> {
    const result = await exportMedicalRecord(this.archive, actor, memberId, {
      workspace: this.workspace,
      format: "pdf",
      days,
    });
    return result.files[0]!;
  }

  private audit(actor: Actor, action: string, draft: ContactDraft): void {
    appendAudit(
      this.archive.db,
      actor,
      {
        action,
        memberId: draft.memberId,
        entity: "contact",
        entityId: draft.contact.name,
        note: `${draft.contact.channel}:${draft.contact.address} ${draft.file} sha256:${draft.sha256.slice(0, 16)} code:${draft.code}${draft.outboxId ? ` outbox:${draft.outboxId}` : ""}`,
      },
      this.clock,
    );
  }
}

/**
 * The draft a person confirms, composed by medbot from the stored draft: the contact's real name and
 * address, which member, which export file and what it covers, and the code.
 */
export function draftToConfirm(draft: DraftedSend, memberName: string): string {
  const covers = draft.symptomsSince
    ? `made ${draft.made}; symptoms from ${draft.symptomsSince} to ${draft.made}`
    : `made ${draft.made}`;
  return [
    "A draft to send, not yet sent:",
    `To: ${draft.contact.name} (${draft.contact.channel}: ${draft.contact.address})`,
    `What: ${memberName}'s medical summary, ${path.basename(draft.file)} (${covers})`,
    `To send it, reply: /confirm ${draft.code}`,
    `To drop it: /cancel ${draft.code}`,
    `The code is valid for ${DRAFT_TTL_MS / 60_000} minutes.`,
  ].join("\n");
}

/** What the contact reads above the attachment. */
function coverNote(draft: ContactDraft, memberName: string, person: string): string {
  return [
    `Dear ${draft.contact.name},`,
    "",
    `attached is the medical summary of ${memberName} (${path.basename(draft.file)}), sent at the request of ${person}.`,
    "",
    "Sent by medbot, the family's health assistant.",
  ].join("\n");
}

function fromRecord(record: DraftRecord): ContactDraft {
  return {
    code: record.code,
    memberId: record.member_id,
    contact: { name: record.contact_name, channel: record.contact_channel, address: record.contact_address },
    file: record.file,
    sha256: record.sha256,
    requestedBy: record.requested_by,
    expiresAt: record.expires_at,
    status: record.status,
    outboxId: record.outbox_id,
  };
}

function fileHash(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}
