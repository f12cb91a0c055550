// Which archive member each MedBot member folder goes into. MedBot gives its own ids (妈妈 may arrive as
// "member"), so a folder whose name, alias or birth date points at someone already here is not imported
// until the owner says where it goes (--map MEDBOT_ID=MEMBER, or MEDBOT_ID=new); nothing is written before.
import type { Actor } from "../access/actor.js";
import type { Db } from "../storage/db.js";
import { ArchiveError } from "./archive.js";
import type { MedbotMember } from "./medbot-format.js";
import { allMembers, freeMemberId, type Member, nameKey, resolveMember } from "./members.js";

/** Where one MedBot member goes: an existing member (re-import or --map) or a new member with this id. */
export type MemberTarget =
  | { kind: "existing"; member: Member; mapped: boolean }
  | { kind: "new"; id: string }
  | { kind: "skip"; reason: string };

/** An archive member a MedBot member looks like, and why. */
export interface LikelyDuplicate {
  medbotId: string;
  displayName: string;
  matches: { member: Member; why: string }[];
}

/** The import stopped before writing anything: these MedBot members look like members already here. */
export class DuplicateMembersError extends ArchiveError {
  constructor(readonly duplicates: LikelyDuplicate[]) {
    const lines = duplicates.map(
      (d) =>
        `  ${d.displayName} (MedBot id ${d.medbotId}) looks like ${d.matches
          .map((m) => `${m.member.displayName} (id ${m.member.id}): ${m.why}`)
          .join("; or ")}`,
    );
    const example = duplicates[0]!;
    super(
      [
        "Nothing was imported: these MedBot members look like members already in the archive:",
        ...lines,
        `Say where each one goes with --map MEDBOT_ID=MEMBER (into that member, each fact once) or --map MEDBOT_ID=new (a new member), e.g. --map ${example.medbotId}=${example.matches[0]!.member.id}.`,
      ].join("\n"),
    );
    this.name = "DuplicateMembersError";
  }
}

/**
 * Decides every source's target before anything is written. Throws ArchiveError for a --map naming no
 * MedBot member or no archive member, and DuplicateMembersError for unmapped likely duplicates.
 */
export function planMembers(
  db: Db,
  actor: Actor,
  sources: readonly MedbotMember[],
  map: Readonly<Record<string, string>>,
): Map<MedbotMember, MemberTarget> {
  const byMedbotId = new Map(sources.flatMap((s) => [[s.folder, s] as const, [s.id, s] as const]));
  for (const medbotId of Object.keys(map)) {
    if (!byMedbotId.has(medbotId)) {
      const ids = sources.map((s) => s.folder).join(", ") || "none";
      throw new ArchiveError(
        `--map ${medbotId}=...: there is no MedBot member "${medbotId}" here (MedBot ids: ${ids}).`,
      );
    }
  }
  const members = allMembers(db);
  const plan = new Map<MedbotMember, MemberTarget>();
  const unresolved: LikelyDuplicate[] = [];
  for (const source of sources) {
    const wanted = map[source.folder] ?? map[source.id];
    if (wanted !== undefined && nameKey(wanted) === "new") {
      plan.set(source, { kind: "new", id: freeMemberId(db, source.id) });
      continue;
    }
    if (wanted !== undefined) {
      try {
        plan.set(source, { kind: "existing", member: resolveMember(db, actor, wanted), mapped: true });
      } catch (error) {
        throw new ArchiveError(`--map ${source.folder}=${wanted}: ${(error as Error).message}`);
      }
      continue;
    }
    const same = members.find((m) => m.id === source.id);
    const target = same
      ? { kind: "existing" as const, member: same, mapped: false }
      : retiredTarget(db, members, source);
    if (target) {
      plan.set(source, target);
      continue;
    }
    const matches = members.flatMap((member) => {
      const why = duplicateReason(source, member);
      return why ? [{ member, why }] : [];
    });
    if (matches.length)
      unresolved.push({ medbotId: source.folder, displayName: source.profile.displayName, matches });
    else plan.set(source, { kind: "new", id: freeMemberId(db, source.id) });
  }
  if (unresolved.length) throw new DuplicateMembersError(unresolved);
  return plan;
}

/**
 * For a member imported before and since merged or removed here: the member that took over its record, or
 * a skip (a removed member is not brought back unless --map ...=new says so).
 */
function retiredTarget(db: Db, members: Member[], source: MedbotMember): MemberTarget | undefined {
  const retired = db.prepare("SELECT merged_into AS mergedInto FROM member_retirements WHERE member_id = ?");
  let id = source.id;
  for (
    let row = retired.get(id) as Retirement | undefined;
    row;
    row = retired.get(id) as Retirement | undefined
  ) {
    if (!row.mergedInto) {
      const reason = `member ${id} was removed here; not imported (--map ${source.folder}=new imports it as a new member)`;
      return { kind: "skip", reason };
    }
    id = row.mergedInto;
  }
  const member = id === source.id ? undefined : members.find((m) => m.id === id);
  return member && { kind: "existing", member, mapped: true };
}

interface Retirement {
  mergedInto: string | null;
}

/** Why a MedBot member looks like this archive member, or undefined if it does not. */
function duplicateReason(source: MedbotMember, member: Member): string | undefined {
  const theirs = [source.profile.displayName, ...source.profile.aliases, source.folder].map(nameKey);
  const ours = [member.displayName, ...member.aliases, member.id].map(nameKey);
  const shared = theirs.find((name) => ours.includes(name));
  if (shared) return `both are called "${shared}"`;
  const born = source.profile.birthDate;
  if (!born || born !== member.birthDate) return undefined;
  if (theirs.some((a) => ours.some((b) => similarNames(a, b))))
    return `same birth date (${born}), similar name`;
  const relationship = source.profile.relationship;
  if (relationship && relationship === member.relationship)
    return `same birth date (${born}) and relationship (${relationship})`;
  return undefined;
}

/** One name inside the other ("li wei" / "wei"), or a typo apart ("Helen" / "Hellen"). */
function similarNames(a: string, b: string): boolean {
  const x = a.replace(/[\s._-]+/g, "");
  const y = b.replace(/[\s._-]+/g, "");
  if (!x || !y) return false;
  if (x.includes(y) || y.includes(x)) return true;
  return editDistance(x, y) <= Math.max(1, Math.floor(Math.min(x.length, y.length) / 4));
}

function editDistance(a: string, b: string): number {
  const s = [...a];
  const t = [...b];
  let previous = t.map((_, j) => j + 1);
  previous.unshift(0);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      row[j] = Math.min(
        previous[j]! + 1,
        row[j - 1]! + 1,
        previous[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[t.length]!;
}
