// The family archive: every change is one transaction with one audit entry, checked against the
// actor's grants, and leaves the member's Markdown views marked stale for the renderer.
import { type Actor, mayAccess } from "../access/actor.js";
import { type AuditEvent, appendAudit } from "../audit/audit-log.js";
import { type Db, nowIso, writeTransaction } from "../storage/db.js";
import {
  currentEntries,
  type Entry,
  type EntryFields,
  type EntryTable,
  entryHistory,
  getEntry,
  insertEntry,
  type ReviewStatus,
  removeEntry,
  replaceEntry,
  setEntryStatus,
} from "./entries.js";
import {
  addAliases,
  freeMemberId,
  idFromName,
  invalidMemberId,
  type Member,
  resolveMember,
  visibleMembers,
} from "./members.js";

/** A request the archive refuses; the message says what is wrong and changes nothing. */
export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArchiveError";
  }
}

export interface MemberProfile {
  displayName: string;
  relationship?: string | null;
  sex?: string | null;
  birthDate?: string | null;
  bloodType?: string | null;
  emergencyContact?: string | null;
  timezone?: string | null;
}

export interface NewMember extends MemberProfile {
  id?: string;
  aliases?: string[];
}

/** What a change returns: the member it touched (to name in the reply) and the resulting entry. */
export interface Changed<T> {
  member: Member;
  entry: T;
}

/** Singular names of the entry tables, for messages and the audit log. */
export const ENTRY_NOUN: Record<EntryTable, string> = {
  facts: "fact",
  symptoms: "symptom",
  medications: "medication",
};

export interface ArchiveOptions {
  clock?: () => Date;
  /** Called after a commit that changed a member, e.g. to render views off the write path. */
  onChange?: (memberId: string) => void;
}

export class FamilyArchive {
  readonly clock: () => Date;

  constructor(
    readonly db: Db,
    private readonly options: ArchiveOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  /**
   * Runs `work` in one transaction together with its audit entry and the stale-view mark. If anything
   * throws, nothing of it is stored.
   */
  change<T>(
    actor: Actor,
    event: AuditEvent & { memberId: string },
    work: (auditSeq: number, now: string) => T,
  ): T {
    const result = writeTransaction(this.db, () => {
      const seq = appendAudit(this.db, actor, event, this.clock);
      const value = work(seq, nowIso(this.clock));
      this.db.prepare("INSERT OR IGNORE INTO stale_views (member_id) VALUES (?)").run(event.memberId);
      return value;
    });
    this.options.onChange?.(event.memberId);
    return result;
  }

  /** Members the actor may see. */
  members(actor: Actor): Member[] {
    return visibleMembers(this.db, actor);
  }

  /** The one member `ref` (id, name or alias) means; throws MemberLookupError listing candidates otherwise. */
  member(actor: Actor, ref: string): Member {
    return resolveMember(this.db, actor, ref);
  }

  /** Adds a member; only an owner (grants "*") may. */
  addMember(actor: Actor, input: NewMember): Member {
    if (actor.grants !== "*") throw new ArchiveError("Only an owner can add family members.");
    const name = input.displayName.trim();
    if (!name) throw new ArchiveError("A member needs a name.");
    if (input.id) {
      const problem = invalidMemberId(input.id);
      if (problem) throw new ArchiveError(problem);
      if (this.db.prepare("SELECT 1 FROM members WHERE id = ?").get(input.id)) {
        throw new ArchiveError(`The id "${input.id}" is already used by another member.`);
      }
    }
    const id = input.id ?? freeMemberId(this.db, idFromName(name));
    this.change(actor, { action: "member.add", memberId: id, entity: "member", entityId: id }, (seq, now) => {
      this.db
        .prepare(
          `INSERT INTO members (id, display_name, relationship, sex, birth_date, blood_type, emergency_contact,
             timezone, created_at, updated_at, audit_seq)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          name,
          input.relationship ?? null,
          input.sex ?? null,
          input.birthDate ?? null,
          input.bloodType ?? null,
          input.emergencyContact ?? null,
          input.timezone ?? null,
          now,
          now,
          seq,
        );
      addAliases(this.db, id, input.aliases ?? []);
    });
    return this.member(actor, id);
  }

  /** Changes a member's profile and adds aliases. */
  updateMember(actor: Actor, ref: string, patch: Partial<MemberProfile> & { aliases?: string[] }): Member {
    const member = this.member(actor, ref);
    const columns: Record<keyof MemberProfile, string> = {
      displayName: "display_name",
      relationship: "relationship",
      sex: "sex",
      birthDate: "birth_date",
      bloodType: "blood_type",
      emergencyContact: "emergency_contact",
      timezone: "timezone",
    };
    const sets = (Object.keys(columns) as (keyof MemberProfile)[]).filter((key) => patch[key] !== undefined);
    if (patch.displayName !== undefined && !patch.displayName.trim())
      throw new ArchiveError("A member needs a name.");
    this.change(
      actor,
      { action: "member.update", memberId: member.id, entity: "member", entityId: member.id },
      (_, now) => {
        for (const key of sets) {
          this.db
            .prepare(`UPDATE members SET ${columns[key]} = ? WHERE id = ?`)
            .run(patch[key] ?? null, member.id);
        }
        this.db.prepare("UPDATE members SET updated_at = ? WHERE id = ?").run(now, member.id);
        addAliases(this.db, member.id, patch.aliases ?? []);
      },
    );
    return this.member(actor, member.id);
  }

  /** Adds a fact, symptom event or medication to a member's record. */
  add<T extends EntryTable>(
    actor: Actor,
    ref: string,
    table: T,
    fields: EntryFields[T],
    status: ReviewStatus,
  ): Changed<Entry<T>> {
    const member = this.member(actor, ref);
    const id = this.change(
      actor,
      { action: `${ENTRY_NOUN[table]}.add`, memberId: member.id, entity: table },
      (seq, now) =>
        insertEntry(this.db, table, fields, { memberId: member.id, status, createdAt: now, auditSeq: seq }),
    );
    return { member, entry: getEntry(this.db, table, id)! };
  }

  /**
   * Replaces a current entry with a changed version: "update" (news: a new dose, a symptom that ended) or
   * "correct" (it was wrong; a reason is required). The old version stays in the history.
   */
  revise<T extends EntryTable>(
    actor: Actor,
    ref: string,
    table: T,
    id: number,
    patch: Partial<EntryFields[T]>,
    how: { kind: "update" | "correct"; reason?: string; status?: ReviewStatus },
  ): Changed<Entry<T>> {
    const member = this.member(actor, ref);
    const old = this.currentEntry(member, table, id);
    if (how.kind === "correct" && !how.reason?.trim()) throw new ArchiveError("A correction needs a reason.");
    const fields = { ...stripMeta(old), ...definedOnly(patch) } as unknown as EntryFields[T];
    const event = {
      action: `${ENTRY_NOUN[table]}.${how.kind}`,
      memberId: member.id,
      entity: table,
      entityId: id,
    };
    const newId = this.change(actor, event, (seq, now) =>
      replaceEntry(this.db, table, old, fields, {
        status: how.status ?? old.status,
        createdAt: now,
        auditSeq: seq,
        ...(how.reason?.trim() ? { changeReason: how.reason.trim() } : {}),
      }),
    );
    return { member, entry: getEntry(this.db, table, newId)! };
  }

  /** Removes an entry (kept in the history with the reason). */
  remove<T extends EntryTable>(
    actor: Actor,
    ref: string,
    table: T,
    id: number,
    reason: string,
  ): Changed<Entry<T>> {
    const member = this.member(actor, ref);
    this.currentEntry(member, table, id);
    if (!reason.trim()) throw new ArchiveError("Removing an entry needs a reason.");
    const event = { action: `${ENTRY_NOUN[table]}.remove`, memberId: member.id, entity: table, entityId: id };
    this.change(actor, event, (_, now) => removeEntry(this.db, table, id, reason.trim(), now));
    return { member, entry: getEntry(this.db, table, id)! };
  }

  /** Confirms an entry after review, or rejects it (a removal with the review as the reason). */
  review<T extends EntryTable>(
    actor: Actor,
    ref: string,
    table: T,
    id: number,
    verdict: "confirm" | "reject",
  ) {
    if (verdict === "reject") return this.remove(actor, ref, table, id, "rejected in review");
    const member = this.member(actor, ref);
    if (this.currentEntry(member, table, id).status === "confirmed") {
      throw new ArchiveError(`${ENTRY_NOUN[table]} #${id} is already confirmed.`);
    }
    const event = {
      action: `${ENTRY_NOUN[table]}.confirm`,
      memberId: member.id,
      entity: table,
      entityId: id,
    };
    this.change(actor, event, () => setEntryStatus(this.db, table, id, "confirmed"));
    return { member, entry: getEntry(this.db, table, id)! };
  }

  /** A member's current entries of one kind. */
  current<T extends EntryTable>(actor: Actor, ref: string, table: T): Entry<T>[] {
    return currentEntries(this.db, table, this.member(actor, ref).id);
  }

  /** Every version of an entry, oldest first (corrections and removals included). */
  history<T extends EntryTable>(actor: Actor, ref: string, table: T, id: number): Entry<T>[] {
    const member = this.member(actor, ref);
    const chain = entryHistory(this.db, table, id);
    if (chain.length === 0 || chain[0]!.memberId !== member.id) {
      throw new ArchiveError(`There is no ${ENTRY_NOUN[table]} #${id} in ${member.displayName}'s record.`);
    }
    return chain;
  }

  /** Members whose views need rendering (after a crash, too). */
  staleMembers(): string[] {
    return (this.db.prepare("SELECT member_id AS id FROM stale_views").all() as { id: string }[]).map(
      (r) => r.id,
    );
  }

  /** Clears the stale mark once views are written. */
  markViewsFresh(memberId: string): void {
    this.db.prepare("DELETE FROM stale_views WHERE member_id = ?").run(memberId);
  }

  /** Throws unless the actor may see this member id (for callers holding an id, not a name). */
  assertAccess(actor: Actor, memberId: string): void {
    if (!mayAccess(actor, memberId)) throw new ArchiveError(`No family member called "${memberId}".`);
  }

  private currentEntry<T extends EntryTable>(member: Member, table: T, id: number): Entry<T> {
    const entry = getEntry(this.db, table, id);
    const noun = ENTRY_NOUN[table];
    if (!entry || entry.memberId !== member.id) {
      throw new ArchiveError(`There is no ${noun} #${id} in ${member.displayName}'s record.`);
    }
    if (entry.removedAt) throw new ArchiveError(`${noun} #${id} was removed (${entry.removedReason}).`);
    if (entry.replacedBy)
      throw new ArchiveError(`${noun} #${id} was replaced by #${entry.replacedBy}; use that id.`);
    return entry;
  }
}

const META_KEYS = new Set([
  "id",
  "memberId",
  "status",
  "replaces",
  "replacedBy",
  "removedAt",
  "removedReason",
  "createdAt",
  "auditSeq",
]);

function stripMeta(entry: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entry).filter(([key]) => !META_KEYS.has(key)));
}

function definedOnly(patch: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
}
