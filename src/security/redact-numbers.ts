// Finds identifiers by the shape of their digits alone (no label): national IDs, SSNs, NHS numbers and phone
// numbers. The text's maximal digit runs are found once; each shape looks at a handful of consecutive runs and
// the characters around them, so the work is linear in the text whatever it holds. Readings, doses, dates and
// times are numbers too, so every shape needs what a reading never has: a "+", a trunk "0", a check digit, or
// the exact groups of a number plan.
import {
  codePointAt,
  codePointBefore,
  type Found,
  isDigit,
  isLetterOrNumber,
  isWordCode,
  type ScanText,
} from "./redact-text.js";

const PLUS = 0x2b;
const OPEN = 0x28;
const DOT = 0x2e;
const HYPHEN = 0x2d;

/** Reads runs of digits and the few characters between them. */
class DigitRuns {
  constructor(readonly scan: ScanText) {}
  get text(): string {
    return this.scan.text;
  }
  start(k: number): number {
    return this.scan.runStarts[k]!;
  }
  end(k: number): number {
    return this.scan.runEnds[k]!;
  }
  length(k: number): number {
    return k < this.scan.runCount ? this.end(k) - this.start(k) : 0;
  }
  digits(k: number): string {
    return this.text.slice(this.start(k), this.end(k));
  }
  /** What separates run k from run k+1 when it is at most three characters, else undefined. */
  separator(k: number): string | undefined {
    if (k + 1 >= this.scan.runCount) return undefined;
    const from = this.end(k);
    const to = this.start(k + 1);
    return to - from <= 3 ? this.text.slice(from, to) : undefined;
  }
  codeAt(i: number): number {
    return this.text.charCodeAt(i);
  }
  /** A separator then a digit at `i`: the number goes on after `i`. */
  continuesAt(i: number, separators: string): boolean {
    return separators.includes(this.text[i] ?? "\u0000") && isDigit(this.codeAt(i + 1));
  }
  /** A digit then a separator ending before `i`: the number began before `i`. */
  continuesBefore(i: number, separators: string): boolean {
    return separators.includes(this.text[i - 1] ?? "\u0000") && isDigit(this.codeAt(i - 2));
  }
}

type Shape = (runs: DigitRuns, k: number) => Found | undefined;

/** Chinese resident ID: 6-digit region, a real-looking birth date, 3 digits, a check digit or X, standing alone. */
const CHINESE_ID_DIGITS = /^[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]$/;
const chineseId: Shape = (runs, k) => {
  const start = runs.start(k);
  const length = runs.length(k);
  const end =
    length === 18
      ? runs.end(k)
      : length === 17 && /[Xx]/.test(runs.text[runs.end(k)] ?? "")
        ? runs.end(k) + 1
        : -1;
  if (
    end < 0 ||
    isLetterOrNumber(codePointBefore(runs.text, start)) ||
    isLetterOrNumber(codePointAt(runs.text, end))
  )
    return undefined;
  return CHINESE_ID_DIGITS.test(runs.text.slice(start, end)) ? { kind: "idNumber", start, end } : undefined;
};

/** Three runs of the given lengths joined by the same one-character separator, which is returned. */
function grouped(
  runs: DigitRuns,
  k: number,
  lengths: readonly number[],
  separators: string,
): string | undefined {
  const separator = runs.separator(k);
  if (separator?.length !== 1 || !separators.includes(separator)) return undefined;
  for (let i = 0; i < lengths.length; i++) {
    if (runs.length(k + i) !== lengths[i]) return undefined;
    if (i > 0 && i < lengths.length - 1 && runs.separator(k + i) !== separator) return undefined;
  }
  return separator;
}

/** US social security number, 3-2-4 with dashes or spaces, never area 000/666/9xx, group 00 or serial 0000. */
const usSsn: Shape = (runs, k) => {
  const separator = grouped(runs, k, [3, 2, 4], "- ");
  if (!separator) return undefined;
  const start = runs.start(k);
  const end = runs.end(k + 2);
  const before = runs.codeAt(start - 1);
  if (isDigit(before) || before === HYPHEN || isDigit(runs.codeAt(end)) || runs.codeAt(end) === HYPHEN)
    return undefined;
  if (separator === " " && (runs.continuesBefore(start, " .") || runs.continuesAt(end, " .")))
    return undefined;
  const [area, group, serial] = [runs.digits(k), runs.digits(k + 1), runs.digits(k + 2)];
  if (area === "000" || area === "666" || area.startsWith("9") || group === "00" || serial === "0000")
    return undefined;
  return { kind: "idNumber", start, end };
};

/** What may stand between two digit groups of an international number: ")", one of " .-", "(", in that order. */
const INTERNATIONAL_SEPARATOR = /^\)?[ .-]?\(?$/;
/**
 * +CC or 00CC, then digit groups: a country code of up to 4 digits and up to 6 groups of up to 5 digits, 8 to
 * 15 digits in all. A longer run of groups is masked up to its 15th digit rather than left whole.
 */
const international: Shape = (runs, k) => {
  const first = runs.start(k);
  let start: number;
  let countryCode: number;
  if (runs.codeAt(first - 1) === PLUS) {
    start = first - 1;
    countryCode = runs.length(k);
  } else if (runs.text.startsWith("00", first) && runs.length(k) > 2 && runs.text[first + 2] !== "0") {
    start = first;
    countryCode = runs.length(k) - 2;
  } else {
    return undefined;
  }
  const before = runs.codeAt(start - 1);
  if (isWordCode(before) || before === PLUS) return undefined;
  let groups = Math.ceil(Math.max(0, countryCode - 4) / 5);
  let digits = runs.length(k);
  let last = k;
  for (;;) {
    const separator = runs.separator(last);
    if (separator === undefined || !INTERNATIONAL_SEPARATOR.test(separator)) break;
    const length = runs.length(last + 1);
    const nextGroups = groups + Math.ceil(length / 5);
    if (nextGroups > 6 || digits + length > 15) break;
    groups = nextGroups;
    digits += length;
    last++;
  }
  return digits >= 8 && digits <= 15 ? { kind: "phone", start, end: runs.end(last) } : undefined;
};

/** Chinese mobile: 1[3-9] and nine digits, whole or as 3-4-4 (also 3-8, 7-4) groups split by " " or "-". */
const chineseMobile: Shape = (runs, k) => {
  const start = runs.start(k);
  const before = runs.codeAt(start - 1);
  if (isDigit(before) || before === DOT || !/^1[3-9]/.test(runs.text.slice(start, start + 2)))
    return undefined;
  let position = runs.length(k);
  let last = k;
  if (position !== 3 && position !== 7 && position !== 11) return undefined;
  while (position < 11) {
    const separator = runs.separator(last);
    if (separator !== " " && separator !== "-") return undefined;
    last++;
    position += runs.length(last);
    if (position !== 7 && position !== 11) return undefined;
  }
  const end = runs.end(last);
  return runs.continuesAt(end, ".") ? undefined : { kind: "phone", start, end };
};

/** A local number with a trunk 0 (030 1234567, 010-12345678, 06 12 34 56 78): 10 to 12 digits. */
const trunk: Shape = (runs, k) => {
  const start = runs.start(k);
  const before = runs.text[start - 1] ?? "";
  if (
    runs.text[start] !== "0" ||
    runs.length(k) < 2 ||
    isWordCode(runs.codeAt(start - 1)) ||
    ".:/-".includes(before || "\u0000")
  )
    return undefined;
  const endsHere = (end: number) => !runs.continuesAt(end, ".:/");
  let digits = runs.length(k);
  let groups = Math.ceil(Math.max(0, digits - 5) / 8);
  let best = digits >= 10 && digits <= 12 && groups <= 4 && endsHere(runs.end(k)) ? runs.end(k) : -1;
  for (let last = k; ; last++) {
    const separator = runs.separator(last);
    const length = runs.length(last + 1);
    if ((separator !== " " && separator !== "-") || length < 2) break;
    groups += Math.ceil(length / 8);
    digits += length;
    if (groups > 4 || digits > 12) break;
    if (digits >= 10 && endsHere(runs.end(last + 1))) best = runs.end(last + 1);
  }
  return best > 0 ? { kind: "phone", start, end: best } : undefined;
};

/** NHS number check: weights 10..2 on the first nine digits, 11 minus the sum mod 11 is the tenth (11 reads 0). */
export function isNhsNumber(digits: string): boolean {
  if (!/^\d{10}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(digits[i]) * (10 - i);
  const check = (11 - (sum % 11)) % 11;
  return check !== 10 && check === Number(digits[9]);
}

/**
 * Ten digits in North American groups, (555) 123-4567, 555-123-4567, 555.123.4567, 555 123 4567, or whole
 * (5551234567, first digit 2-9 so unix seconds stay); spaced or whole, a valid NHS number is an ID.
 */
const tenDigits: Shape = (runs, k) => {
  const start = runs.start(k);
  const before = runs.codeAt(start - 1);
  if (runs.length(k) === 10) {
    const digits = runs.digits(k);
    const end = runs.end(k);
    if (digits[0] === "0" || digits[0] === "1") return undefined;
    if (
      isLetterOrNumber(codePointBefore(runs.text, start)) ||
      ".:/#+-_".includes(runs.text[start - 1] || "\u0000")
    )
      return undefined;
    if (isLetterOrNumber(codePointAt(runs.text, end)) || runs.continuesAt(end, ".,:/-")) return undefined;
    return { kind: isNhsNumber(digits) ? "idNumber" : "phone", start, end };
  }
  if (before === OPEN && runs.length(k) === 3) {
    const inParentheses = runs.separator(k);
    const separator = runs.separator(k + 1);
    if (inParentheses !== ")" && inParentheses !== ") ") return undefined;
    if (
      separator?.length !== 1 ||
      !" .-".includes(separator) ||
      runs.length(k + 1) !== 3 ||
      runs.length(k + 2) !== 4
    )
      return undefined;
    return standsAlone(runs, start - 1, runs.end(k + 2))
      ? { kind: "phone", start: start - 1, end: runs.end(k + 2) }
      : undefined;
  }
  const separator = grouped(runs, k, [3, 3, 4], ".- ");
  if (!separator) return undefined;
  const end = runs.end(k + 2);
  if (!standsAlone(runs, start, end)) return undefined;
  if (separator !== " ") return { kind: "phone", start, end };
  if (runs.continuesBefore(start, " ") || runs.continuesAt(end, " ")) return undefined;
  const digits = runs.digits(k) + runs.digits(k + 1) + runs.digits(k + 2);
  return { kind: isNhsNumber(digits) ? "idNumber" : "phone", start, end };
};

/** Not part of a longer number: no digit, '.' or '-' just before, no digit (maybe after '.' or '-') just after. */
function standsAlone(runs: DigitRuns, start: number, end: number): boolean {
  const before = runs.codeAt(start - 1);
  if (isDigit(before) || before === DOT || before === HYPHEN) return false;
  return !isDigit(runs.codeAt(end)) && !runs.continuesAt(end, ".-");
}

/** Runs every shape at every run, in order of precedence; a shape resumes after what it found. */
function findShape(runs: DigitRuns, shape: Shape): Found[] {
  const found: Found[] = [];
  for (let k = 0; k < runs.scan.runCount; ) {
    const hit = shape(runs, k);
    if (!hit) {
      k++;
      continue;
    }
    found.push(hit);
    while (k < runs.scan.runCount && runs.start(k) < hit.end) k++;
  }
  return found;
}

/** IDs before phones (they are longer and more certain): Chinese IDs, SSNs. */
export function findIdNumbers(scan: ScanText): Found[][] {
  const runs = new DigitRuns(scan);
  return [chineseId, usSsn].map((shape) => findShape(runs, shape));
}

/** Phone shapes from the surest to the loosest: international, Chinese mobile, trunk 0, ten digits (or NHS). */
export function findPhoneNumbers(scan: ScanText): Found[][] {
  const runs = new DigitRuns(scan);
  return [international, chineseMobile, trunk, tenDigits].map((shape) => findShape(runs, shape));
}
