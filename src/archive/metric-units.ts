// How readings are shown as the family said them: the unit a household (config archive.units) or a member
// (`medbot metrics units`) prefers, converted from the canonical value, with the value as measured beside it
// when it differs ("6.11 mmol/L (110 mg/dL as measured)"), and the meal context of a glucose reading.
import type { Actor } from "../access/actor.js";
import type { Db } from "../storage/db.js";
import { ArchiveError, type FamilyArchive } from "./archive.js";
import type { Member } from "./members.js";
import {
  builtinKind,
  customKind,
  findKind,
  formatNumber,
  type MetricKindDef,
  type UnitDef,
  unitConverter,
  unitKey,
} from "./metric-kinds.js";
import type { MetricReading } from "./metrics.js";

/** When a glucose reading was taken relative to meals, in the order a clinician reads them. */
export const GLUCOSE_CONTEXTS = ["fasting", "before_meal", "after_meal", "bedtime", "random"] as const;
export type GlucoseContext = (typeof GLUCOSE_CONTEXTS)[number];

const CONTEXT_LABEL: Record<GlucoseContext, string> = {
  fasting: "fasting",
  before_meal: "before meal",
  after_meal: "after meal",
  bedtime: "bedtime",
  random: "random",
};

/** What people and MedBot write for each context, normalised (see contextKey). */
const CONTEXT_ALIASES: Record<string, GlucoseContext> = {
  fasting: "fasting",
  fasted: "fasting",
  fbg: "fasting",
  空腹: "fasting",
  空腹血糖: "fasting",
  before_meal: "before_meal",
  before_meals: "before_meal",
  premeal: "before_meal",
  pre_meal: "before_meal",
  preprandial: "before_meal",
  before_breakfast: "before_meal",
  before_lunch: "before_meal",
  before_dinner: "before_meal",
  餐前: "before_meal",
  饭前: "before_meal",
  after_meal: "after_meal",
  after_meals: "after_meal",
  postmeal: "after_meal",
  post_meal: "after_meal",
  postprandial: "after_meal",
  after_breakfast: "after_meal",
  after_lunch: "after_meal",
  after_dinner: "after_meal",
  "2h_after_meal": "after_meal",
  餐后: "after_meal",
  饭后: "after_meal",
  餐后2小时: "after_meal",
  bedtime: "bedtime",
  before_bed: "bedtime",
  night: "bedtime",
  睡前: "bedtime",
  random: "random",
  any: "random",
  随机: "random",
};

const contextKey = (text: string) =>
  text
    .normalize("NFKC")
    .toLowerCase()
    .trim()
    .replace(/[\s-]+/g, "_");

/** The meal context a word means (name or alias), or an ArchiveError listing the names. */
export function glucoseContext(text: string): GlucoseContext {
  const found = CONTEXT_ALIASES[contextKey(text)];
  if (found) return found;
  throw new ArchiveError(
    `Meal context "${text}" is not one of ${GLUCOSE_CONTEXTS.join(", ")} (also 空腹, 餐前, 餐后, 睡前, "after breakfast").`,
  );
}

/** The meal context of a reading about to be stored; only glucose readings carry one. */
export function readingContext(def: MetricKindDef, text: string | undefined): GlucoseContext | null {
  if (!text?.trim()) return null;
  if (def.kind !== "glucose") {
    throw new ArchiveError(`Only glucose readings carry a meal context; ${def.label} does not.`);
  }
  return glucoseContext(text);
}

/** An imported context word: a glucose reading's meal context if it names one, else kept as a note. */
export function contextOrNote(
  def: MetricKindDef | undefined,
  text: string | undefined,
): { context?: GlucoseContext; note?: string } {
  if (!text?.trim()) return {};
  const context = def?.kind === "glucose" ? CONTEXT_ALIASES[contextKey(text)] : undefined;
  return context ? { context } : { note: text.trim() };
}

/** "glucose (fasting)": a kind's label with the meal context, if any. */
export function contextLabel(label: string, context: string | null | undefined): string {
  return context ? `${label} (${CONTEXT_LABEL[context as GlucoseContext] ?? context})` : label;
}

// Preferences: member (members.unit_preferences) over household (config archive.units) over canonical.

type UnitPreferences = Record<string, string>;
const householdUnits = new WeakMap<Db, UnitPreferences>();

/** Checked preferences: each kind known, each unit one of the kind's; stored as {kind: unit as shown}. */
function checkedPreferences(
  units: Record<string, string>,
  kindOf: (name: string) => MetricKindDef | undefined,
) {
  const checked: UnitPreferences = {};
  for (const [name, spelling] of Object.entries(units)) {
    const def = kindOf(name);
    if (!def) throw new ArchiveError(`"${name}" is not a kind of reading, so it has no unit to prefer.`);
    checked[def.kind] = unitConverter(def, spelling).unit;
  }
  return checked;
}

/** The household's preferred units (config archive.units) for everything read through this database. */
export function useHouseholdUnits(db: Db, units: Record<string, string> = {}): void {
  householdUnits.set(db, checkedPreferences(units, builtinKind));
}

/** A member's own preferred units, by kind. */
export function memberUnits(db: Db, memberId: string): UnitPreferences {
  const row = db.prepare("SELECT unit_preferences AS units FROM members WHERE id = ?").get(memberId) as
    | { units: string | null }
    | undefined;
  return row?.units ? (JSON.parse(row.units) as UnitPreferences) : {};
}

/**
 * Sets a member's preferred units ({glucose: "mg/dL"}; "default" clears one), audited, views re-rendered.
 * Refuses an unknown kind or a unit the kind does not have, changing nothing.
 */
export function setMemberUnits(
  archive: FamilyArchive,
  actor: Actor,
  memberRef: string,
  units: Record<string, string>,
): { member: Member; units: UnitPreferences } {
  const member = archive.member(actor, memberRef);
  const cleared = Object.entries(units).filter(([, unit]) => unitKey(unit) === "default");
  const set = Object.fromEntries(Object.entries(units).filter(([, unit]) => unitKey(unit) !== "default"));
  const next = {
    ...memberUnits(archive.db, member.id),
    ...checkedPreferences(set, (k) => findKind(archive.db, k)),
  };
  for (const [name] of cleared) {
    const def = findKind(archive.db, name);
    if (!def) throw new ArchiveError(`"${name}" is not a kind of reading, so it has no unit to prefer.`);
    delete next[def.kind];
  }
  const stored = Object.keys(next).length ? JSON.stringify(next) : null;
  archive.change(actor, { action: "member.units", memberId: member.id, entity: "members" }, () =>
    archive.db.prepare("UPDATE members SET unit_preferences = ? WHERE id = ?").run(stored, member.id),
  );
  return { member, units: next };
}

/** The unit a member's readings of a kind are shown in. */
export function shownUnitOf(db: Db, memberId: string, kind: string): string {
  const preferred = memberUnits(db, memberId)[kind] ?? householdUnits.get(db)?.[kind];
  return preferred ?? "";
}

// Display: every place a reading is shown (CLI, tools, views, doctor export) goes through these.

/** The kind's definition from what a reading carries (custom kinds convert by their canonical unit). */
function displayKind(kind: string, canonicalUnit: string): MetricKindDef {
  const def = builtinKind(kind);
  return def?.kind === kind ? def : customKind({ kind, label: kind, unit: canonicalUnit });
}

/** The unit to show in (the preference if the kind has it, else canonical); undefined: canonical. */
function shownConverter(
  kind: string | undefined,
  canonicalUnit: string,
  shown: string | undefined,
): UnitDef | undefined {
  if (!kind || !shown || unitKey(shown) === unitKey(canonicalUnit)) return undefined;
  const def = displayKind(kind, canonicalUnit);
  return def.units.find((u) => unitKey(u.unit) === unitKey(shown));
}

const pair = (value: number, value2: number | null, decimals: number) =>
  value2 === null
    ? formatNumber(value, decimals)
    : `${formatNumber(value, decimals)}/${formatNumber(value2, decimals)}`;

/** What display needs of a reading; a bare value and unit (no kind, no original) shows as it is. */
export type ShownReading = Pick<MetricReading, "value" | "value2" | "pulse" | "unit"> &
  Partial<Pick<MetricReading, "kind" | "originalValue" | "originalValue2" | "originalUnit" | "shownUnit">>;

/** A reading's numbers in the unit it is shown in, and the value as measured when that differs. */
export function shownValues(
  r: ShownReading,
  canonicalDecimals = 2,
): { value: string; unit: string; measured?: string } {
  const original = r.originalUnit && typeof r.originalValue === "number" ? r.originalUnit : null;
  const measured = original
    ? `${pair(r.originalValue!, r.originalValue2 ?? null, 3)} ${original}`
    : `${pair(r.value, r.value2, 3)} ${r.unit}`;
  const convert = shownConverter(r.kind, r.unit, r.shownUnit);
  const unit = convert?.unit ?? r.unit;
  if (original && unitKey(original) === unitKey(unit)) {
    return { value: pair(r.originalValue!, r.originalValue2 ?? null, 3), unit };
  }
  const value = convert
    ? pair(
        convert.fromCanonical(r.value),
        r.value2 === null ? null : convert.fromCanonical(r.value2),
        convert.decimals ?? 2,
      )
    : pair(r.value, r.value2, canonicalDecimals);
  const measuredUnit = original ?? r.unit;
  return unitKey(measuredUnit) === unitKey(unit) ? { value, unit } : { value, unit, measured };
}

/** "6.11 mmol/L (110 mg/dL as measured)", "110 mg/dL", "130/85 mmHg, pulse 72". */
export function shownReading(r: ShownReading, canonicalDecimals = 2): string {
  const shown = shownValues(r, canonicalDecimals);
  const measured = shown.measured ? ` (${shown.measured} as measured)` : "";
  return `${shown.value} ${shown.unit}${measured}${r.pulse === null ? "" : `, pulse ${formatNumber(r.pulse)}`}`;
}

/** A summary statistic (canonical) in the shown unit: the number and whether it was converted. */
export function shownStatistic(
  s: { kind: string; unit: string; shownUnit?: string },
  value: number,
  decimals = 2,
): string {
  const convert = shownConverter(s.kind, s.unit, s.shownUnit);
  return convert
    ? formatNumber(convert.fromCanonical(value), convert.decimals ?? 2)
    : formatNumber(value, decimals);
}

/** The unit a summary is shown in. */
export function shownSummaryUnit(s: { kind: string; unit: string; shownUnit?: string }): string {
  return shownConverter(s.kind, s.unit, s.shownUnit)?.unit ?? s.unit;
}
