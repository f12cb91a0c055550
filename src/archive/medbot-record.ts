// MedBot's record.md: "# Name", then "## Section" headings with "- Label: a; b" lines (labels as
// medical_records.py writes them, plus common hand-written variants). Labels map to the member's profile,
// fact categories and medications; unlabelled bullets take their category from the section heading.

import { isTimeZone } from "../time/dates.js";
import type { MemberProfile } from "./archive.js";
import type { FactCategory } from "./entries.js";
import {
  BULLET,
  LABELLED,
  type MedbotMember,
  medicationFromText,
  normaliseDay,
  PLACEHOLDER,
  splitList,
} from "./medbot-format.js";
import { nameKey } from "./members.js";

type RecordTarget =
  | { kind: "profile"; key: keyof MemberProfile | "aliases" | "height" | "weight" | "updated" | "ignore" }
  | { kind: "fact"; category: FactCategory | "surgery_or_hospitalisation" }
  | { kind: "medication" }
  | { kind: "summary"; of: string };

/** MedBot's labels (medical_records.py) and common hand-written variants, by nameKey. */
const RECORD_LABELS: Record<string, RecordTarget> = {
  "member id": { kind: "profile", key: "ignore" },
  "preferred name": { kind: "profile", key: "displayName" },
  name: { kind: "profile", key: "displayName" },
  "display name": { kind: "profile", key: "displayName" },
  姓名: { kind: "profile", key: "displayName" },
  sex: { kind: "profile", key: "sex" },
  gender: { kind: "profile", key: "sex" },
  性别: { kind: "profile", key: "sex" },
  "birth date": { kind: "profile", key: "birthDate" },
  "date of birth": { kind: "profile", key: "birthDate" },
  birthday: { kind: "profile", key: "birthDate" },
  dob: { kind: "profile", key: "birthDate" },
  出生日期: { kind: "profile", key: "birthDate" },
  "blood type": { kind: "profile", key: "bloodType" },
  血型: { kind: "profile", key: "bloodType" },
  "emergency contact": { kind: "profile", key: "emergencyContact" },
  紧急联系人: { kind: "profile", key: "emergencyContact" },
  relationship: { kind: "profile", key: "relationship" },
  relation: { kind: "profile", key: "relationship" },
  关系: { kind: "profile", key: "relationship" },
  aliases: { kind: "profile", key: "aliases" },
  alias: { kind: "profile", key: "aliases" },
  timezone: { kind: "profile", key: "timezone" },
  "time zone": { kind: "profile", key: "timezone" },
  height: { kind: "profile", key: "height" },
  身高: { kind: "profile", key: "height" },
  weight: { kind: "profile", key: "weight" },
  体重: { kind: "profile", key: "weight" },
  "last updated": { kind: "profile", key: "updated" },
  "chronic conditions": { kind: "fact", category: "condition" },
  "past surgeries or hospitalizations": { kind: "fact", category: "surgery_or_hospitalisation" },
  "family history": { kind: "fact", category: "family_history" },
  "lifestyle factors": { kind: "fact", category: "lifestyle" },
  "drug allergies": { kind: "fact", category: "drug_allergy" },
  "food allergies": { kind: "fact", category: "food_allergy" },
  "other contraindications": { kind: "fact", category: "contraindication" },
  "active diagnoses or concerns": { kind: "fact", category: "concern" },
  "current clinicians": { kind: "fact", category: "clinician" },
  "current medications": { kind: "medication" },
  "monitoring goals": { kind: "fact", category: "monitoring_goal" },
  "red flags": { kind: "fact", category: "red_flag" },
  "open questions for clinician": { kind: "fact", category: "open_question" },
};

/** Keyword fallbacks for other labels and for headings over unlabelled bullets (first match wins). */
const CATEGORY_WORDS: [RegExp, RecordTarget][] = [
  [/recent .*symptom/, { kind: "summary", of: "symptom" }],
  [/recent .*metric/, { kind: "summary", of: "metrics" }],
  [/recent .*report/, { kind: "summary", of: "reports" }],
  [/medication|medicine|drugs? taken|用药|药物/, { kind: "medication" }],
  [/food.*allerg|食物过敏/, { kind: "fact", category: "food_allergy" }],
  [/allerg|过敏/, { kind: "fact", category: "drug_allergy" }],
  [/contraindicat|禁忌/, { kind: "fact", category: "contraindication" }],
  [/family.*history|家族/, { kind: "fact", category: "family_history" }],
  [/surger|operation|手术/, { kind: "fact", category: "surgery" }],
  [/hospitali|住院/, { kind: "fact", category: "hospitalisation" }],
  [/lifestyle|habit|生活/, { kind: "fact", category: "lifestyle" }],
  [/red flag|warning sign/, { kind: "fact", category: "red_flag" }],
  [/question|问题/, { kind: "fact", category: "open_question" }],
  [/clinician|doctor|physician|医生/, { kind: "fact", category: "clinician" }],
  [/monitoring|goal|目标/, { kind: "fact", category: "monitoring_goal" }],
  [/concern/, { kind: "fact", category: "concern" }],
  [/chronic|condition|diagnos|慢性|病史|疾病/, { kind: "fact", category: "condition" }],
];

function targetOf(label: string): RecordTarget | undefined {
  const key = nameKey(label);
  return RECORD_LABELS[key] ?? CATEGORY_WORDS.find(([words]) => words.test(key))?.[1];
}

/** Reads a record.md into the member: profile, facts, medications it lists, weight and height. */
export function parseRecord(file: string, lines: string[], member: MedbotMember): void {
  let heading: RecordTarget | undefined;
  let title: string | undefined;
  const body: { target: RecordTarget; value: string; line: number }[] = [];
  for (const [index, raw] of lines.entries()) {
    const text = raw.trim();
    if (!text || text.startsWith("<!--") || text.startsWith(">")) continue;
    const headingMatch = /^(#{1,6})\s+(.*)$/.exec(text);
    if (headingMatch) {
      if (headingMatch[1] === "#") title ??= headingMatch[2]!.trim();
      heading = headingMatch[1] === "#" ? undefined : targetOf(headingMatch[2]!);
      continue;
    }
    const bullet = BULLET.exec(text)?.[1];
    const previous = body.at(-1);
    if (bullet === undefined && /^\s/.test(raw) && previous) {
      previous.value += ` ${text}`; // an indented continuation of the line above
      continue;
    }
    const content = bullet ?? text;
    const labelled = LABELLED.exec(content);
    // A known label decides, then a label naming a category ("Food allergies"), then the section heading.
    const byLabel = labelled ? targetOf(labelled[1]!) : undefined;
    const target = byLabel ?? heading;
    const value = byLabel ? labelled![2]! : content;
    if (target) body.push({ target, value, line: index + 1 });
    else
      member.problems.push({
        file,
        line: index + 1,
        reason: "not a known field, and no section heading says what it is",
      });
  }
  const profile: Record<string, { value: string; line: number }> = {};
  for (const item of body) {
    if (item.target.kind === "profile")
      profile[item.target.key] = { value: item.value.trim(), line: item.line };
  }
  member.profileFields = Object.entries(profile).filter(
    ([key, field]) => key !== "ignore" && field.value && !PLACEHOLDER.test(field.value),
  ).length;
  const name = profile.displayName?.value;
  member.profile.displayName = (name && !PLACEHOLDER.test(name) ? name : title) || member.folder;
  applyProfile(file, profile, member);
  for (const item of body) {
    if (item.target.kind !== "profile") addRecordItems(item.target, item.value, member);
  }
}

function applyProfile(
  file: string,
  fields: Record<string, { value: string; line: number } | undefined>,
  member: MedbotMember,
): void {
  const value = (key: string) => {
    const v = fields[key]?.value;
    return v && !PLACEHOLDER.test(v) ? v : undefined;
  };
  const problem = (key: string, reason: string) =>
    member.problems.push({ file, line: fields[key]?.line ?? null, reason });
  const p = member.profile;
  const sex = value("sex");
  if (sex) {
    p.sex = normaliseSex(sex);
    if (!p.sex) problem("sex", `sex "${sex}" is not female, male or other`);
  }
  const birth = value("birthDate");
  if (birth) {
    p.birthDate = normaliseDay(birth);
    if (!p.birthDate) problem("birthDate", `birth date "${birth}" is not a full, real date`);
  }
  const blood = value("bloodType");
  if (blood) {
    p.bloodType = normaliseBloodType(blood);
    if (!p.bloodType) problem("bloodType", `blood type "${blood}" is not A, B, AB or O (with + or -)`);
  }
  const zone = value("timezone");
  if (zone) {
    p.timezone = isTimeZone(zone) ? zone : undefined;
    if (!p.timezone) problem("timezone", `"${zone}" is not an IANA time zone`);
  }
  p.emergencyContact = value("emergencyContact");
  p.relationship = value("relationship");
  p.aliases = (value("aliases") ?? "").split(/\s*[,;，；、]\s*/).filter(Boolean);
  // "Last updated" dates the file, not the measurement: weight and height carry no date of their own.
  for (const kind of ["weight", "height"] as const) {
    const measured = value(kind);
    if (measured) member.profileReadings.push({ kind, value: measured, file, line: fields[kind]!.line });
  }
}

function addRecordItems(target: RecordTarget, value: string, member: MedbotMember): void {
  for (const item of splitList(value)) {
    if (target.kind === "medication") {
      const known = member.medications.some((m) => nameKey(item).includes(nameKey(m.name.split(" (")[0]!)));
      if (!known) member.medications.push(medicationFromText(item, "active"));
    } else if (target.kind === "summary") {
      const logged = member.symptoms.some((s) => nameKey(s.name) === nameKey(item));
      if (target.of !== "symptom" || !logged)
        member.facts.push({
          category: "concern",
          text: item,
          details: `from MedBot's recent ${target.of} summary`,
        });
    } else if (target.kind === "fact") {
      const category =
        target.category === "surgery_or_hospitalisation"
          ? /hospital|admit|住院/i.test(item)
            ? "hospitalisation"
            : "surgery"
          : target.category;
      member.facts.push({ category, text: item, details: null });
    }
  }
}

function normaliseSex(text: string): "female" | "male" | "other" | undefined {
  const key = nameKey(text);
  if (/^(f|female|woman|girl|女|女性)$/.test(key)) return "female";
  if (/^(m|male|man|boy|男|男性)$/.test(key)) return "male";
  if (/^(other|non-binary|nonbinary|diverse|x|其他)$/.test(key)) return "other";
  return undefined;
}

function normaliseBloodType(text: string): string | undefined {
  const m = /^(AB|A|B|O)\s*型?\s*(?:rh)?\s*([+-]|pos(?:itive)?|neg(?:ative)?|阳性|阴性)?$/i.exec(text.trim());
  if (!m) return undefined;
  const rh = m[2] ? (/^(\+|pos|阳)/i.test(m[2]) ? "+" : "-") : "";
  return `${m[1]!.toUpperCase()}${rh}`;
}

const RELATIONSHIPS: [RegExp, string][] = [
  [/^(mom|mum|mother|mommy|mama|妈妈|母亲|妈)$/, "mother"],
  [/^(dad|father|daddy|papa|爸爸|父亲|爸)$/, "father"],
  [/^(grandma|grandmother|granny|奶奶|外婆|姥姥)$/, "grandmother"],
  [/^(grandpa|grandfather|爷爷|外公|姥爷)$/, "grandfather"],
  [/^(wife|husband|spouse|partner|老婆|老公|妻子|丈夫)$/, "spouse"],
  [/^(son|daughter|child|kid|儿子|女儿|孩子)$/, "child"],
  [/^(me|self|myself|我|本人)$/, "self"],
];

/** A relationship a MedBot folder name implies ("mom", "爸爸"); MedBot had no field for it. */
export /** "1958/3/2", "1958年3月2日" or "1958-03-02" as YYYY-MM-DD, if it is a real day. */
function relationshipFromName(name: string): string | undefined {
  const key = nameKey(name);
  return RELATIONSHIPS.find(([words]) => words.test(key))?.[1];
}
