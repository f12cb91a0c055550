// Household members: stable Unicode-aware ids, names and aliases. A name is never guessed: an unknown or
// ambiguous one is an error that lists the candidates (only those the person may see).
import { type Actor, mayAccess, NO_MEMBER_ACCESS } from "../access/actor.js";
import type { Db } from "../storage/db.js";

export interface Member {
  id: string;
  displayName: string;
  relationship: string | null;
  sex: string | null;
  birthDate: string | null;
  bloodType: string | null;
  emergencyContact: string | null;
  timezone: string | null;
  aliases: string[];
}

/** A member reference that matches nobody, or more than one member. */
export class MemberLookupError extends Error {
  constructor(
    readonly query: string,
    readonly kind: "unknown" | "ambiguous",
    readonly candidates: readonly Pick<Member, "id" | "displayName">[],
    /** False for someone granted none of the recorded members (they must not learn whether any exist). */
    ownsArchive = true,
  ) {
    const list = candidates.map((c) => `${c.displayName} (id ${c.id})`).join(", ");
    const none = ownsArchive ? " No members are recorded yet." : ` ${NO_MEMBER_ACCESS}`;
    super(
      kind === "ambiguous"
        ? `"${query}" could be ${list}. Say which one (use the id).`
        : `No family member called "${query}".${list ? ` Members: ${list}.` : none}`,
    );
    this.name = "MemberLookupError";
  }
}

const ID_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N}\p{M}_-]{0,63}$/u;

/** How names and aliases are compared: Unicode-normalised, case-folded, single spaces. */
export function nameKey(text: string): string {
  return text.normalize("NFKC").toLowerCase().trim().replace(/\s+/g, " ");
}

/** A readable id from a name: letters and digits of any script kept (爸爸 stays 爸爸), the rest dashes. */
export function idFromName(name: string): string {
  const slug = nameKey(name)
    .replace(/[^\p{L}\p{N}\p{M}]+/gu, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 48)
    .replace(/-+$/, "");
  return slug || "member";
}

/** Why an explicit id cannot be used, or undefined if it can. */
export function invalidMemberId(id: string): string | undefined {
  return ID_PATTERN.test(id)
    ? undefined
    : `"${id}" is not a valid member id: use letters, digits, "-" or "_" (at most 64), starting with a letter or digit.`;
}

interface MemberRow extends Omit<Member, "aliases"> {}

const MEMBER_COLUMNS = `id, display_name AS displayName, relationship, sex, birth_date AS birthDate,
  blood_type AS bloodType, emergency_contact AS emergencyContact, timezone`;

/** Every current member (not merged or removed), with aliases, in the order they were added. */
export function allMembers(db: Db): Member[] {
  const rows = db
    .prepare(
      `SELECT ${MEMBER_COLUMNS} FROM members
       WHERE id NOT IN (SELECT member_id FROM member_retirements) ORDER BY audit_seq`,
    )
    .all() as MemberRow[];
  const aliases = db
    .prepare("SELECT member_id AS memberId, alias FROM member_aliases ORDER BY rowid")
    .all() as {
    memberId: string;
    alias: string;
  }[];
  return rows.map((row) => ({
    ...row,
    aliases: aliases.filter((a) => a.memberId === row.id).map((a) => a.alias),
  }));
}

/** The members this actor may see. */
export function visibleMembers(db: Db, actor: Actor): Member[] {
  return allMembers(db).filter((member) => mayAccess(actor, member.id));
}

/**
 * Finds the one member a reference means, among those the actor may see: an id first, then a display
 * name or alias (case-insensitive, Unicode-normalised). Throws MemberLookupError otherwise.
 */
export function resolveMember(db: Db, actor: Actor, query: string): Member {
  const members = visibleMembers(db, actor);
  const key = nameKey(query);
  const byId = members.find((m) => m.id === query.trim() || nameKey(m.id) === key);
  if (byId) return byId;
  const matches = members.filter(
    (m) => nameKey(m.displayName) === key || m.aliases.some((a) => nameKey(a) === key),
  );
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new MemberLookupError(query, "ambiguous", matches);
  throw new MemberLookupError(query, "unknown", members, actor.grants === "*");
}

/** The current member other than `exceptId` who already answers to `name` (as id, name or alias), if any. */
export function memberAnswering(db: Db, name: string, exceptId?: string): Member | undefined {
  const key = nameKey(name);
  return allMembers(db).find(
    (m) =>
      m.id !== exceptId &&
      (nameKey(m.id) === key || nameKey(m.displayName) === key || m.aliases.some((a) => nameKey(a) === key)),
  );
}

/** A free id for `wanted`: itself if unused, else with -2, -3... */
export function freeMemberId(db: Db, wanted: string): string {
  const taken = db.prepare("SELECT 1 FROM members WHERE id = ?");
  if (!taken.get(wanted)) return wanted;
  for (let n = 2; ; n++) if (!taken.get(`${wanted}-${n}`)) return `${wanted}-${n}`;
}

/** Adds aliases the member does not have yet; returns the ones added. */
export function addAliases(db: Db, memberId: string, aliases: readonly string[]): string[] {
  const insert = db.prepare(
    "INSERT OR IGNORE INTO member_aliases (member_id, alias, alias_key) VALUES (?, ?, ?)",
  );
  return aliases.filter(
    (alias) => alias.trim() && insert.run(memberId, alias.trim(), nameKey(alias)).changes > 0,
  );
}
