// Kinds of health readings: their canonical unit, the units accepted and how they convert, the range a
// real body can produce, and what change counts as a trend. Custom kinds (table metric_kinds) carry a unit.
import type { Db } from "../storage/db.js";
import { ArchiveError } from "./archive.js";

/** A unit accepted for a kind: how it is shown, how people spell it, and how it converts to and from the canonical unit. */
export interface UnitDef {
  unit: string;
  spellings: readonly string[];
  toCanonical: (value: number) => number;
  fromCanonical: (value: number) => number;
  /** Decimals a converted value is shown with ("110 mg/dL", "6.1 mmol/L"); null: two. */
  decimals: number | null;
}

export interface MetricKindDef {
  kind: string;
  label: string;
  /** The canonical unit every reading of this kind is stored in. */
  unit: string;
  units: readonly UnitDef[];
  /** Plausible range in the canonical unit (for blood pressure: the systolic one); null for custom kinds. */
  min: number | null;
  max: number | null;
  /** Fitted change across a queried range that counts as rising/falling; null: 5% of the mean (custom kinds). */
  trendThreshold: number | null;
  /** Decimals kept after a unit conversion; null: six significant digits (custom kinds). */
  decimals: number | null;
  custom: boolean;
}

/** Blood pressure parts: systolic uses the kind's min/max. */
export const DIASTOLIC_RANGE = { min: 20, max: 200 } as const;
export const PULSE_RANGE = { min: 20, max: 250 } as const;

/** mg/dL of glucose per mmol/L (molar mass of glucose / 10). */
export const GLUCOSE_MG_PER_MMOL = 18.016;
const KG_PER_LB = 0.45359237;
const MMHG_PER_KPA = 7.50062;

const same = (value: number) => value;
const unit = (
  shown: string,
  spellings: string[],
  decimals: number | null,
  toCanonical = same,
  fromCanonical = same,
): UnitDef => ({ unit: shown, spellings, toCanonical, fromCanonical, decimals });

function builtin(def: Omit<MetricKindDef, "custom">): MetricKindDef {
  return { ...def, custom: false };
}

export const BUILTIN_KINDS: readonly MetricKindDef[] = [
  builtin({
    kind: "blood_pressure",
    label: "blood pressure",
    unit: "mmHg",
    units: [
      unit("mmHg", ["mmhg"], 0),
      unit(
        "kPa",
        ["kpa"],
        1,
        (v) => v * MMHG_PER_KPA,
        (v) => v / MMHG_PER_KPA,
      ),
    ],
    min: 50,
    max: 300,
    trendThreshold: 5,
    decimals: 0,
  }),
  builtin({
    kind: "glucose",
    label: "glucose",
    unit: "mmol/L",
    units: [
      unit("mmol/L", ["mmol/l", "mmol"], 1),
      unit(
        "mg/dL",
        ["mg/dl", "mgdl"],
        0,
        (v) => v / GLUCOSE_MG_PER_MMOL,
        (v) => v * GLUCOSE_MG_PER_MMOL,
      ),
    ],
    min: 0.5,
    max: 60,
    trendThreshold: 0.5,
    decimals: 2,
  }),
  builtin({
    kind: "weight",
    label: "weight",
    unit: "kg",
    units: [
      unit("kg", ["kg", "kgs", "kilogram", "kilograms"], 1),
      unit(
        "lb",
        ["lb", "lbs", "pound", "pounds"],
        1,
        (v) => v * KG_PER_LB,
        (v) => v / KG_PER_LB,
      ),
      unit(
        "g",
        ["g", "gram", "grams"],
        0,
        (v) => v / 1000,
        (v) => v * 1000,
      ),
    ],
    min: 0.3,
    max: 400,
    trendThreshold: 1,
    decimals: 2,
  }),
  builtin({
    kind: "temperature",
    label: "temperature",
    unit: "°C",
    units: [
      unit("°C", ["c", "celsius", "degc"], 1),
      unit(
        "°F",
        ["f", "fahrenheit", "degf"],
        1,
        (v) => ((v - 32) * 5) / 9,
        (v) => (v * 9) / 5 + 32,
      ),
    ],
    min: 25,
    max: 45,
    trendThreshold: 0.5,
    decimals: 2,
  }),
  builtin({
    kind: "heart_rate",
    label: "heart rate",
    unit: "bpm",
    units: [unit("bpm", ["bpm", "beats/min", "/min", "1/min"], 0)],
    min: PULSE_RANGE.min,
    max: PULSE_RANGE.max,
    trendThreshold: 5,
    decimals: 0,
  }),
  builtin({
    kind: "spo2",
    label: "SpO2",
    unit: "%",
    units: [unit("%", ["%", "percent", "pct"], 0)],
    min: 50,
    max: 100,
    trendThreshold: 2,
    decimals: 1,
  }),
];

/** Names people and models use for the built-in kinds, normalised (see kindKey). */
const KIND_ALIASES: Record<string, string> = {
  bp: "blood_pressure",
  blood_pressure: "blood_pressure",
  glucose: "glucose",
  sugar: "glucose",
  bg: "glucose",
  blood_sugar: "glucose",
  blood_glucose: "glucose",
  weight: "weight",
  temperature: "temperature",
  temp: "temperature",
  heart_rate: "heart_rate",
  hr: "heart_rate",
  pulse: "heart_rate",
  spo2: "spo2",
  o2: "spo2",
  oxygen: "spo2",
  oxygen_saturation: "spo2",
};

/** Units a custom kind may convert between: unit spelling -> [family, to base, from base]. */
const CONVERTIBLE: Record<string, [string, (v: number) => number, (v: number) => number]> = {
  kg: ["mass", same, same],
  g: ["mass", (v) => v / 1000, (v) => v * 1000],
  lb: ["mass", (v) => v * KG_PER_LB, (v) => v / KG_PER_LB],
  m: ["length", same, same],
  cm: ["length", (v) => v / 100, (v) => v * 100],
  mm: ["length", (v) => v / 1000, (v) => v * 1000],
  in: ["length", (v) => v * 0.0254, (v) => v / 0.0254],
  l: ["volume", same, same],
  ml: ["volume", (v) => v / 1000, (v) => v * 1000],
  "l/min": ["flow", same, same],
  "ml/min": ["flow", (v) => v / 1000, (v) => v * 1000],
  c: ["temperature", same, same],
  f: ["temperature", (v) => ((v - 32) * 5) / 9, (v) => (v * 9) / 5 + 32],
};

/** How kind names are compared: NFKC, lower case, spaces and dashes as "_". */
export function kindKey(name: string): string {
  return name
    .normalize("NFKC")
    .toLowerCase()
    .trim()
    .replace(/[\s-]+/g, "_");
}

/** How unit spellings are compared: NFKC, lower case, no spaces, no degree sign ("°F" = "f"). */
export function unitKey(spelling: string): string {
  return spelling
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[\s°º]+/g, "");
}

const CUSTOM_KIND = /^\p{L}[\p{L}\p{N}_]{0,39}$/u;

/** The built-in kind a name or alias means, if any. */
export function builtinKind(name: string): MetricKindDef | undefined {
  const kind = KIND_ALIASES[kindKey(name)];
  return kind ? BUILTIN_KINDS.find((def) => def.kind === kind) : undefined;
}

/** A custom kind's definition from its stored row. */
export function customKind(row: { kind: string; label: string; unit: string }): MetricKindDef {
  const canonical = unitKey(row.unit);
  const family = CONVERTIBLE[canonical];
  const units: UnitDef[] = [unit(row.unit, [canonical], null)];
  if (family) {
    for (const [spelling, [other, toBase, fromBase]] of Object.entries(CONVERTIBLE)) {
      if (other === family[0] && spelling !== canonical) {
        const toCanonical = (v: number) => family[2](toBase(v));
        units.push(unit(spelling, [spelling], null, toCanonical, (v) => fromBase(family[1](v))));
      }
    }
  }
  return {
    kind: row.kind,
    label: row.label,
    unit: row.unit,
    units,
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
  const key = unitKey(spelling);
  const found = def.units.find((u) => u.spellings.includes(key) || unitKey(u.unit) === key);
  if (found) return found;
  throw new ArchiveError(
    `"${spelling}" is not a unit for ${def.label}. Accepted: ${def.units.map((u) => u.unit).join(", ")}.`,
  );
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
