// Kinds of health readings: the built-in ones (src/measures/kinds.ts) and custom kinds (table metric_kinds,
// each with a unit), how readings of them are parsed and converted to the canonical unit.
import {
  acceptedUnit,
  BUILTIN_KINDS,
  builtinKind,
  customUnits,
  DIASTOLIC_RANGE,
  kindKey,
  type MetricKindDef,
  notAUnit,
  PULSE_RANGE,
  type UnitDef,
  unitKey,
} from "../measures/kinds.js";
import type { Db } from "../storage/db.js";
import { ArchiveError } from "./archive.js";

export {
  BUILTIN_KINDS,
  builtinKind,
  DIASTOLIC_RANGE,
  GLUCOSE_MG_PER_MMOL,
  kindKey,
  type MetricKindDef,
  PULSE_RANGE,
  type UnitDef,
  unitKey,
} from "../measures/kinds.js";

const CUSTOM_KIND = /^\p{L}[\p{L}\p{N}_]{0,39}$/u;

/** A custom kind's definition from its stored row. */
export function customKind(row: { kind: string; label: string; unit: string }): MetricKindDef {
  return {
    kind: row.kind,
    label: row.label,
    unit: row.unit,
    units: customUnits(row.unit),
    min: null,
    max: null,
    trendThreshold: null,
    decimals: null,
    custom: true,
  };
}

/** The kind a name means: a built-in kind or alias, else a custom kind stored in metric_kinds. */
export function findKind(db: Db, name: string): MetricKindDef | undefined {
  const found = builtinKind(name);
  if (found) return found;
  const row = db.prepare("SELECT kind, label, unit FROM metric_kinds WHERE kind = ?").get(kindKey(name)) as
    | { kind: string; label: string; unit: string }
    | undefined;
  return row ? customKind(row) : undefined;
}

/** Every kind name that can be recorded now, for error messages. */
export function knownKindNames(db: Db): string[] {
  const custom = db.prepare("SELECT kind FROM metric_kinds ORDER BY kind").all() as { kind: string }[];
  return [...BUILTIN_KINDS.map((def) => def.kind), ...custom.map((row) => row.kind)];
}

/** A new custom kind (not stored yet) for `name` measured in `unitText`; throws if the name is unusable. */
export function newCustomKind(name: string, unitText: string): MetricKindDef {
  const kind = kindKey(name);
  if (!CUSTOM_KIND.test(kind)) {
    throw new ArchiveError(
      `"${name}" cannot name a kind of reading: use letters, digits and "_" (at most 40), starting with a letter.`,
    );
  }
  const shown = unitText.normalize("NFKC").trim();
  if (!shown || shown.length > 20) throw new ArchiveError(`"${unitText}" is not a usable unit.`);
  return customKind({ kind, label: kind.replace(/_/g, " "), unit: shown });
}

/** The canonical-unit converter for a unit spelling, or an error listing the accepted units. */
export function unitConverter(def: MetricKindDef, spelling: string): UnitDef {
  const found = acceptedUnit(def, spelling);
  if (found) return found;
  throw new ArchiveError(notAUnit(def, spelling));
}

/** A reading converted to its kind's canonical unit, with what was said when it was in another unit. */
export interface ParsedReading {
  value: number;
  value2: number | null;
  pulse: number | null;
  /** The value(s) and unit as measured, when the unit was not the canonical one. */
  original: { value: number; value2: number | null; unit: string } | null;
}

const NUMBER = String.raw`[-+]?\d+(?:[.,]\d+)?`;
const WITH_UNIT = new RegExp(`^(${NUMBER})\\s*(.*)$`);
const BLOOD_PRESSURE = new RegExp(
  String.raw`^(${NUMBER})\s*/\s*(${NUMBER})\s*(?:(?:[/,;]|\s)\s*(?:pulse|hr|p)?\s*:?\s*(${NUMBER})\s*(?:bpm)?)?\s*(.*)$`,
  "i",
);

const toNumber = (text: string) => Number(text.replace(",", "."));
const round = (value: number, decimals: number | null) =>
  Number(decimals === null ? value.toPrecision(6) : value.toFixed(decimals));

/** Formats a number for messages without float noise ("6.1", "68.04"). */
export function formatNumber(value: number, decimals = 2): string {
  return String(round(value, decimals));
}

/**
 * Parses what was said ("130/85/72", 6.1, "150 lb") with an optional unit, converts it to the canonical unit
 * and checks that a body can produce it. Throws ArchiveError naming the value, kind and accepted range.
 */
export function parseReading(def: MetricKindDef, value: string | number, unitText?: string): ParsedReading {
  const text = String(value).trim();
  if (def.kind === "blood_pressure") return parseBloodPressure(def, text, unitText);
  const match = typeof value === "number" ? [text, text, ""] : WITH_UNIT.exec(text);
  const number = match ? toNumber(match[1]!) : Number.NaN;
  if (!match || !Number.isFinite(number)) {
    throw new ArchiveError(
      `"${text}" is not a number; give the ${def.label} as e.g. 6.1 or "6.1 ${def.unit}".`,
    );
  }
  const converter = unitConverter(def, chooseUnit(def, match[2]!, unitText));
  const converted = converter !== def.units[0];
  const canonical = converted ? round(converter.toCanonical(number), def.decimals) : number;
  const given = `${text}${match[2] ? "" : ` ${converter.unit}`}`;
  if (!match[2]!.trim() && !unitText?.trim()) checkUnitlessValue(def, number);
  checkRange(def.label, canonical, def, given);
  const original = converted ? { value: number, value2: null, unit: converter.unit } : null;
  return { value: canonical, value2: null, pulse: null, original };
}

function parseBloodPressure(def: MetricKindDef, text: string, unitText?: string): ParsedReading {
  const match = BLOOD_PRESSURE.exec(text);
  if (!match) {
    throw new ArchiveError(
      `Blood pressure "${text}" must be systolic/diastolic, e.g. 130/85, or with the pulse, 130/85/72.`,
    );
  }
  const converter = unitConverter(def, chooseUnit(def, match[4]!, unitText));
  const converted = converter !== def.units[0];
  const convert = (n: string) =>
    converted ? round(converter.toCanonical(toNumber(n)), def.decimals) : toNumber(n);
  const systolic = convert(match[1]!);
  const diastolic = convert(match[2]!);
  const pulse = match[3] === undefined ? null : toNumber(match[3]);
  checkRange("systolic blood pressure", systolic, def);
  checkRange("diastolic blood pressure", diastolic, { ...DIASTOLIC_RANGE, unit: def.unit });
  if (pulse !== null) checkRange("pulse", pulse, { ...PULSE_RANGE, unit: "bpm" });
  if (systolic <= diastolic) {
    throw new ArchiveError(
      `Blood pressure ${formatNumber(systolic)}/${formatNumber(diastolic)} mmHg is not plausible: the systolic (first) number must be higher than the diastolic (second).`,
    );
  }
  const original = converted
    ? { value: toNumber(match[1]!), value2: toNumber(match[2]!), unit: converter.unit }
    : null;
  return { value: systolic, value2: diastolic, pulse, original };
}

/**
 * A value given without a unit that a body cannot produce in the canonical unit but can in another one
 * (glucose 110, temperature 98.6) is refused with the unit it most likely was in.
 */
function checkUnitlessValue(def: MetricKindDef, value: number): void {
  const { min, max } = def;
  if (min === null || max === null || (value >= min && value <= max)) return;
  const fits = def.units
    .slice(1)
    .map((u) => ({ u, canonical: u.toCanonical(value) }))
    .filter(({ canonical }) => canonical >= min && canonical <= max);
  if (fits.length === 0) return;
  const canonicalUnit = def.units[0]!;
  const hints = fits.map(
    ({ u, canonical }) =>
      `\`--unit ${u.unit.replace(/^°/, "")}\` (${formatNumber(canonical, canonicalUnit.decimals ?? 2)} ${def.unit})`,
  );
  throw new ArchiveError(
    `${capitalise(def.label)} ${formatNumber(value, 3)} ${def.unit} is not plausible (accepted ${min}–${max} ${def.unit}); did you mean ${hints.join(" or ")}? Nothing was saved.`,
  );
}

/** The unit the reading is in: the unit argument, a unit written after the number, or the canonical unit. */
function chooseUnit(def: MetricKindDef, written: string, given?: string): string {
  const inText = written.trim();
  const argument = given?.trim();
  if (inText && argument && unitKey(inText) !== unitKey(argument)) {
    throw new ArchiveError(`The value says "${inText}" but the unit given is "${argument}"; give one unit.`);
  }
  return argument || inText || def.unit;
}

function checkRange(
  what: string,
  canonical: number,
  range: { min: number | null; max: number | null; unit: string },
  given?: string,
): void {
  if (!Number.isFinite(canonical)) throw new ArchiveError(`${what} must be a finite number.`);
  if (range.min === null || range.max === null) return;
  if (canonical >= range.min && canonical <= range.max) return;
  const shown = `${formatNumber(canonical)} ${range.unit}`;
  const said = given && unitKey(given) !== unitKey(shown) ? `${given} (= ${shown})` : shown;
  throw new ArchiveError(
    `${capitalise(what)} ${said} is not plausible: the accepted range for ${what} is ${range.min}–${range.max} ${range.unit}. Nothing was saved; check the reading and its unit.`,
  );
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
