// The text identifier detection reads: zero-width characters dropped and full-width digits made ASCII, so
// "１３８…" and "138\u200B0013…" have the shape of the number they show, with a map back to the original text.
// Also the character classes and the digit runs every detector shares, each built in one pass.

/** U+200B/U+200C/U+200D (zero-width space, non-joiner, joiner), U+2060 word joiner, U+FEFF no-break space. */
const ZERO_WIDTH = new Set([0x200b, 0x200c, 0x200d, 0x2060, 0xfeff]);
const FULL_WIDTH_ZERO = 0xff10;
const LETTER = /\p{L}/u;
const LETTER_OR_NUMBER = /[\p{L}\p{N}]/u;
const SPACE = /\s/u;

/** The normalised text, where its characters came from, and its maximal runs of ASCII digits. */
export interface ScanText {
  readonly text: string;
  /** Original index of each position of `text`; undefined when `text` is the original unchanged. */
  readonly origin: Int32Array | undefined;
  readonly runStarts: Int32Array;
  readonly runEnds: Int32Array;
  readonly runCount: number;
}

/** Normalises `original` and finds its digit runs, in one pass each. */
export function scanTextOf(original: string): ScanText {
  const { text, origin } = normalise(original);
  const starts = new Int32Array((text.length >> 1) + 1);
  const ends = new Int32Array((text.length >> 1) + 1);
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    if (!isDigit(text.charCodeAt(i))) continue;
    starts[count] = i;
    while (i < text.length && isDigit(text.charCodeAt(i))) i++;
    ends[count++] = i;
  }
  return { text, origin, runStarts: starts, runEnds: ends, runCount: count };
}

const HIDDEN = /[\u200b-\u200d\u2060\ufeff\uff10-\uff19]/;
const UTF16 = new TextDecoder("utf-16le");

function normalise(original: string): { text: string; origin: Int32Array | undefined } {
  if (!HIDDEN.test(original)) return { text: original, origin: undefined };
  const origin = new Int32Array(original.length);
  const units = new Uint16Array(original.length);
  let length = 0;
  for (let i = 0; i < original.length; i++) {
    const code = original.charCodeAt(i);
    if (ZERO_WIDTH.has(code)) continue;
    units[length] = isFullWidthDigit(code) ? code - FULL_WIDTH_ZERO + 48 : code;
    origin[length++] = i;
  }
  return { text: UTF16.decode(units.subarray(0, length)), origin: origin.subarray(0, length) };
}

function isFullWidthDigit(code: number): boolean {
  return code >= FULL_WIDTH_ZERO && code <= FULL_WIDTH_ZERO + 9;
}

/** The original [start, end) of the normalised span [start, end). */
export function originalRange(scan: ScanText, start: number, end: number): [number, number] {
  if (!scan.origin) return [start, end];
  return [scan.origin[start]!, scan.origin[end - 1]! + 1];
}

export function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** ASCII letters and digits: what codes and ID values are made of. */
export function isAsciiAlphanumeric(code: number): boolean {
  return isDigit(code) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** Regex `\w`: ASCII letters, digits and underscore. */
export function isWordCode(code: number): boolean {
  return isAsciiAlphanumeric(code) || code === 95;
}

export function isSpaceAt(text: string, i: number): boolean {
  const code = text.charCodeAt(i);
  if (code < 128) return code === 32 || (code >= 9 && code <= 13);
  return i < text.length && SPACE.test(text[i]!);
}

/** The code point at `i` (NaN past the end). */
export function codePointAt(text: string, i: number): number {
  return i < text.length ? text.codePointAt(i)! : Number.NaN;
}

/** The code point that ends just before `i` (NaN at the start), a surrogate pair read as one. */
export function codePointBefore(text: string, i: number): number {
  if (i <= 0) return Number.NaN;
  const low = text.charCodeAt(i - 1);
  if (low >= 0xdc00 && low <= 0xdfff && i >= 2) {
    const high = text.charCodeAt(i - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.codePointAt(i - 2)!;
  }
  return low;
}

/** Regex `\p{L}` for one code point. */
export function isLetter(code: number): boolean {
  if (Number.isNaN(code)) return false;
  if (code < 128) return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
  return LETTER.test(String.fromCodePoint(code));
}

/** Regex `[\p{L}\p{N}]` for one code point. */
export function isLetterOrNumber(code: number): boolean {
  if (Number.isNaN(code)) return false;
  if (code < 128) return isAsciiAlphanumeric(code);
  return LETTER_OR_NUMBER.test(String.fromCodePoint(code));
}

/** UTF-16 length of a code point. */
export function widthOf(code: number): number {
  return code > 0xffff ? 2 : 1;
}

/** What an identifier is; the placeholder that replaces it says the same. */
export type IdentifierKind = "phone" | "email" | "idNumber" | "insuranceNumber";

/** An identifier a detector found at [start, end) of the normalised text. */
export interface Found {
  readonly kind: IdentifierKind;
  readonly start: number;
  readonly end: number;
}
