// The built-in kinds of health readings as a table below every room that needs it: their canonical unit, the
// units accepted and how they convert, the range a real body can produce, what change counts as a trend, and
// the units a custom kind may convert between. Config checks archive.units against it (unitPreferenceProblem);
// the archive (archive/metric-kinds.ts) adds custom kinds, parsing and storage.

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

/** The built-in kind a name or alias means, if any. */
export function builtinKind(name: string): MetricKindDef | undefined {
  const kind = KIND_ALIASES[kindKey(name)];
  return kind ? BUILTIN_KINDS.find((def) => def.kind === kind) : undefined;
}

/** The units of a custom kind measured in `shown`: that unit, and those it converts to (kg: g, lb). */
export function customUnits(shown: string): UnitDef[] {
  const canonical = unitKey(shown);
  const family = CONVERTIBLE[canonical];
  const units: UnitDef[] = [unit(shown, [canonical], null)];
  if (family) {
    for (const [spelling, [other, toBase, fromBase]] of Object.entries(CONVERTIBLE)) {
      if (other === family[0] && spelling !== canonical) {
        const toCanonical = (v: number) => family[2](toBase(v));
        units.push(unit(spelling, [spelling], null, toCanonical, (v) => fromBase(family[1](v))));
      }
    }
  }
  return units;
}

/** The unit of `def` a spelling means, if any. */
export function acceptedUnit(def: MetricKindDef, spelling: string): UnitDef | undefined {
  const key = unitKey(spelling);
  return def.units.find((u) => u.spellings.includes(key) || unitKey(u.unit) === key);
}

/** What is wrong with a spelling that is no unit of `def`: the units it accepts. */
export function notAUnit(def: MetricKindDef, spelling: string): string {
  return `"${spelling}" is not a unit for ${def.label}. Accepted: ${def.units.map((u) => u.unit).join(", ")}.`;
}

/** Why a household preference (config archive.units) cannot be used, or undefined if it can. */
export function unitPreferenceProblem(kind: string, spelling: string): string | undefined {
  const def = builtinKind(kind);
  if (!def) {
    return `"${kind}" is not a built-in kind of reading (${BUILTIN_KINDS.map((d) => d.kind).join(", ")}).`;
  }
  return acceptedUnit(def, spelling) ? undefined : notAUnit(def, spelling);
}
