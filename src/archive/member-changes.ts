// Changes to who the members are: rename, aliases, merging two records of one person, removing a member.
// Each is one audited transaction that leaves the views stale for re-rendering; nothing is erased: a merged
// or removed member's row stays, stamped, and its entries keep their history under the member now holding them.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Actor } from "../access/actor.js";
import { appendAudit } from "../audit/audit-log.js";
import { ArchiveError, type FamilyArchive } from "./archive.js";
import { addAliases, type Member, memberAnswering, nameKey } from "./members.js";
import { memberFolder, VIEW_FILES } from "./render.js";

const MAX_ALIAS = 64;

/** Tables whose rows belong to one member and move with a merge (history columns travel with them). */
const MEMBER_TABLES = [
  "facts",
  "symptoms",
  "medications",
  "metrics",
  "reports",
  "exports",
  "medication_doses",
  "contact_drafts",
] as const;

/** Entry tables whose current rows are stamped removed when their member is removed. */
const REMOVABLE_TABLES = ["facts", "symptoms", "medications", "metrics", "reports"] as const;

function ownerOnly(actor: Actor, what: string): void {
  if (actor.grants !== "*") throw new ArchiveError(`Only an owner can ${what}.`);
}

function checkedName(archive: FamilyArchive, text: string, member: Member, what: string): string {
  const name = text.trim();
  if (!name) throw new ArchiveError(`The ${what} is empty.`);
  if (name.length > MAX_ALIAS) throw new ArchiveError(`The ${what} is longer than ${MAX_ALIAS} characters.`);
  const other = memberAnswering(archive.db, name, member.id);
  if (other) {
    throw new ArchiveError(
      `"${name}" already names ${other.displayName} (id ${other.id}); a name or alias may mean one member only.`,
    );
  }
  return name;
}

/** Changes a member's display name; the old name stays as an alias unless `keepOldName` is false. */
export function renameMember(
  archive: FamilyArchive,
  actor: Actor,
  ref: string,
  newName: string,
  keepOldName = true,
): { member: Member; oldName: string; keptAsAlias: boolean } {
  ownerOnly(actor, "rename a member");
  const member = archive.member(actor, ref);
  const name = checkedName(archive, newName, member, "new name");
  if (name === member.displayName) throw new ArchiveError(`${member.displayName} is already called that.`);
  const keep = keepOldName && nameKey(member.displayName) !== nameKey(name);
  const note = keep ? "display name changed; old name kept as an alias" : "display name changed";
  const event = { action: "member.rename", memberId: member.id, entity: "member", entityId: member.id, note };
  archive.change(actor, event, (_, now) => {
    const db = archive.db;
    db.prepare("UPDATE members SET display_name = ?, updated_at = ? WHERE id = ?").run(name, now, member.id);
    db.prepare("DELETE FROM member_aliases WHERE member_id = ? AND alias_key = ?").run(
      member.id,
      nameKey(name),
    );
    if (keep) addAliases(db, member.id, [member.displayName]);
  });
  return { member: archive.member(actor, member.id), oldName: member.displayName, keptAsAlias: keep };
}

/** Adds an alias; one already naming another member is refused, naming that member. */
export function addMemberAlias(archive: FamilyArchive, actor: Actor, ref: string, alias: string): Member {
  ownerOnly(actor, "change a member's aliases");
  const member = archive.member(actor, ref);
  const name = checkedName(archive, alias, member, "alias");
  const key = nameKey(name);
  if (nameKey(member.displayName) === key || nameKey(member.id) === key)
    throw new ArchiveError(`"${name}" is already ${member.displayName}'s name.`);
  if (member.aliases.some((a) => nameKey(a) === key))
    throw new ArchiveError(`"${name}" is already an alias of ${member.displayName}.`);
  const event = { action: "member.alias.add", memberId: member.id, entity: "member", entityId: member.id };
  archive.change(actor, event, () => addAliases(archive.db, member.id, [name]));
  return archive.member(actor, member.id);
}

/** Removes one of a member's aliases. */
export function removeMemberAlias(archive: FamilyArchive, actor: Actor, ref: string, alias: string): Member {
  ownerOnly(actor, "change a member's aliases");
  const member = archive.member(actor, ref);
  const key = nameKey(alias);
  if (!member.aliases.some((a) => nameKey(a) === key)) {
    const list = member.aliases.length ? `: ${member.aliases.join(", ")}` : " (none)";
    throw new ArchiveError(`"${alias.trim()}" is not an alias of ${member.displayName}. Aliases${list}.`);
  }
  const event = { action: "member.alias.remove", memberId: member.id, entity: "member", entityId: member.id };
  archive.change(actor, event, () =>
    archive.db
      .prepare("DELETE FROM member_aliases WHERE member_id = ? AND alias_key = ?")
      .run(member.id, key),
  );
  return archive.member(actor, member.id);
}

/** What a merge moved, per table, for the reply. */
export type MovedCounts = Record<(typeof MEMBER_TABLES)[number] | "aliases", number>;

/**
 * Moves FROM's whole record (entries with their history, readings, reports, exports, doses, drafts, risk
 * findings, aliases) to INTO; FROM's name becomes an alias of INTO, INTO's empty profile fields take FROM's,
 * and FROM's row stays, stamped merged. Audited under both ids in one transaction.
 */
export function mergeMembers(
  archive: FamilyArchive,
  actor: Actor,
  fromRef: string,
  intoRef: string,
): { from: Member; into: Member; moved: MovedCounts } {
  ownerOnly(actor, "merge members");
  const from = archive.member(actor, fromRef);
  const into = archive.member(actor, intoRef);
  if (from.id === into.id) {
    throw new ArchiveError(
      `"${fromRef}" and "${intoRef}" are both ${from.displayName} (id ${from.id}); nothing to merge.`,
    );
  }
  const db = archive.db;
  const moved = {} as MovedCounts;
  const event = {
    action: "member.merge",
    memberId: into.id,
    entity: "member",
    entityId: from.id,
    note: `took over the record of ${from.id}`,
  };
  archive.change(actor, event, (seq, now) => {
    appendAudit(
      db,
      actor,
      {
        action: "member.merge",
        memberId: from.id,
        entity: "member",
        entityId: into.id,
        note: `merged into ${into.id}`,
      },
      archive.clock,
    );
    for (const table of MEMBER_TABLES) {
      moved[table] = db
        .prepare(`UPDATE ${table} SET member_id = ? WHERE member_id = ?`)
        .run(into.id, from.id).changes;
    }
    db.prepare("UPDATE OR IGNORE risk_findings SET member_id = ? WHERE member_id = ?").run(into.id, from.id);
    db.prepare("DELETE FROM risk_findings WHERE member_id = ?").run(from.id);
    const names = [from.displayName, ...from.aliases].filter(
      (name) => nameKey(name) !== nameKey(into.displayName) && !memberAnswering(archive.db, name, from.id),
    );
    moved.aliases = addAliases(db, into.id, names).length;
    db.prepare("DELETE FROM member_aliases WHERE member_id = ?").run(from.id);
    db.prepare(
      `UPDATE members SET updated_at = @now,
         relationship = COALESCE(relationship, @relationship), sex = COALESCE(sex, @sex),
         birth_date = COALESCE(birth_date, @birthDate), blood_type = COALESCE(blood_type, @bloodType),
         emergency_contact = COALESCE(emergency_contact, @emergencyContact), timezone = COALESCE(timezone, @timezone)
       WHERE id = @id`,
    ).run({
      id: into.id,
      now,
      relationship: from.relationship,
      sex: from.sex,
      birthDate: from.birthDate,
      bloodType: from.bloodType,
      emergencyContact: from.emergencyContact,
      timezone: from.timezone,
    });
    retire(archive, from.id, now, seq, into.id);
    db.prepare("DELETE FROM stale_views WHERE member_id = ?").run(from.id);
  });
  return { from, into: archive.member(actor, into.id), moved };
}

/**
 * Removes a member: their current entries and readings are stamped removed ("member removed"), pending
 * sends about them cancelled, their risk-scan bookkeeping dropped; the member row stays, stamped. Audited.
 */
export function removeMember(archive: FamilyArchive, actor: Actor, ref: string): Member {
  ownerOnly(actor, "remove a member");
  const member = archive.member(actor, ref);
  const db = archive.db;
  const event = { action: "member.remove", memberId: member.id, entity: "member", entityId: member.id };
  archive.change(actor, event, (seq, now) => {
    for (const table of REMOVABLE_TABLES) {
      const current = table === "metrics" || table === "reports" ? "" : " AND replaced_by IS NULL";
      db.prepare(
        `UPDATE ${table} SET removed_at = ?, removed_reason = 'member removed'
         WHERE member_id = ? AND removed_at IS NULL${current}`,
      ).run(now, member.id);
    }
    db.prepare(
      "UPDATE contact_drafts SET status = 'cancelled', decided_by = ?, decided_at = ? WHERE member_id = ? AND status = 'pending'",
    ).run(actor.person, now, member.id);
    db.prepare("DELETE FROM risk_findings WHERE member_id = ?").run(member.id);
    retire(archive, member.id, now, seq);
  });
  archive.markViewsFresh(member.id);
  return member;
}

/** Stamps a member as no longer answering (the members row itself stays as it was). */
function retire(
  archive: FamilyArchive,
  memberId: string,
  now: string,
  seq: number,
  mergedInto?: string,
): void {
  archive.db
    .prepare(
      "INSERT INTO member_retirements (member_id, removed_at, merged_into, audit_seq) VALUES (?, ?, ?, ?)",
    )
    .run(memberId, now, mergedInto ?? null, seq);
  archive.db.prepare("UPDATE members SET updated_at = ? WHERE id = ?").run(now, memberId);
}

/**
 * Deletes the generated views (record.md, symptoms.md, medications.md) of a member who no longer answers;
 * the folder stays, with any report files and exports that rows still point to. Returns the folder.
 */
export function retireMemberViews(workspace: string, memberId: string): string {
  const folder = memberFolder(workspace, memberId);
  for (const view of VIEW_FILES) fs.rmSync(path.join(folder, view), { force: true });
  return folder;
}
