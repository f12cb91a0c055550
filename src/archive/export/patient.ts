// Who the doctor export is about, as a clinician needs it: the full name and birth date, or a plain line
// saying which of them medbot does not have. A family often records a parent as 爸爸 or "Dad"; that is what
// the family calls them, not a name a clinic can file a record under, so it is never passed off as one.

import { type Member, nameKey } from "../members.js";
import { ageOn, inline } from "../record-text.js";

/**
 * Words a family uses for a member instead of a name. The members table has no separate full-name field, so
 * a display name that is one of these (or "my dad", "我爸", or the member's recorded relationship) is
 * taken to mean the full name was never recorded.
 */
const FAMILY_WORDS = new Set(
  [
    "dad daddy father papa pa pop mum mummy mom mommy mother mama ma grandpa grandad granddad grandfather",
    "gramps grandma granny gran grandmother nana nan son daughter brother sister husband wife uncle aunt",
    "auntie baby me myself",
    "爸爸 爸 父亲 老爸 妈妈 妈 母亲 老妈 爷爷 奶奶 外公 外婆 姥爷 姥姥 儿子 女儿 哥哥 姐姐 弟弟 妹妹 老公 老婆",
    "丈夫 妻子 宝宝 叔叔 阿姨 伯伯 姑姑 舅舅 我",
  ]
    .join(" ")
    .split(" "),
);

const POSSESSIVE = /^(?:my|our|我的|我们的|我|我们)\s*/u;

/** True when a name is only a family word ("爸爸", "Dad", "my mum"), not a person's name. */
export function isFamilyWord(name: string, relationship?: string | null): boolean {
  const key = nameKey(name);
  const bare = key.replace(POSSESSIVE, "");
  return (
    FAMILY_WORDS.has(key) ||
    (bare !== key && FAMILY_WORDS.has(bare)) ||
    (relationship !== null && relationship !== undefined && nameKey(relationship) === key)
  );
}

/** The member's full name as recorded, or undefined when the display name is only a family word. */
export function recordedFullName(member: Member): string | undefined {
  return isFamilyWord(member.displayName, member.relationship) ? undefined : member.displayName;
}

/** The export's patient lines (Markdown-inline): full name and birth date always, the rest when recorded. */
export function patientLines(member: Member, today: string): string[] {
  const fullName = recordedFullName(member);
  const age = member.birthDate ? ageOn(member.birthDate, today) : undefined;
  const aliases = member.aliases.filter((alias) => nameKey(alias) !== nameKey(member.displayName));
  const rows: [string, string | null][] = [
    ["Sex", member.sex],
    ["Blood type", member.bloodType],
    ["Emergency contact", member.emergencyContact],
    ["Also called", aliases.length ? aliases.join(", ") : null],
    ["Relationship in the family", member.relationship],
  ];
  return [
    fullName
      ? `Full name: **${inline(fullName)}**`
      : `Full name: not recorded (known as ${inline(member.displayName)})`,
    member.birthDate
      ? `Birth date: ${inline(member.birthDate)}${age === undefined ? "" : ` (age ${age})`}`
      : "Birth date: not recorded",
    ...rows
      .filter((row): row is [string, string] => Boolean(row[1]))
      .map(([label, value]) => `${label}: ${inline(value)}`),
  ];
}
