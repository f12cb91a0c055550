// Finds the value after a label ("insurance no.", "SSN", "电话", …): a label is the surest sign a number is an
// identifier. The label patterns are literal words with `\s+` between them and no other repetition, so a
// match attempt reads at most one whitespace run past a word; the glue and the value are read by hand, once,
// and the search resumes after the value, so every character is read a bounded number of times.
import {
  codePointAt,
  codePointBefore,
  type Found,
  type IdentifierKind,
  isAsciiAlphanumeric,
  isDigit,
  isSpaceAt,
  isWordCode,
  type ScanText,
} from "./redact-text.js";

const INSURANCE_LABEL =
  /(?:\b(?:health\s+)?insurance(?:\s+(?:no\.?|number|id|card(?:\s+(?:no\.?|number))?))?|\bpolicy(?:\s+(?:no\.?|number))?|\bmember(?:ship)?\s+(?:id|no\.?|number)|\bsubscriber\s+id|\bgroup\s+(?:no\.?|number)|\bmedicare(?:\s+(?:no\.?|number))?|\bmedicaid(?:\s+(?:id|no\.?|number))?|\bversichertennummer|\bkrankenversicherungsnummer|医保卡?(?:号码|卡号|号)?|社保卡?(?:号码|卡号|号)?|保单号码?|保险卡?号码?)/gi;

const ID_LABEL =
  /(?:\b(?:national\s+)?id(?:entity)?\s+(?:card\s+)?(?:no\.?|number)|\bpassport(?:\s+(?:no\.?|number))?|\bssn|\bsocial\s+security(?:\s+(?:no\.?|number))?|\bnhs\s+(?:no\.?|number)|\bdriver'?s?\s+licen[cs]e(?:\s+(?:no\.?|number))?|身份证(?:号码|号)?|护照(?:号码|号)?)/gi;

const PHONE_LABEL =
  /(?:\b(?:tel|phone|telephone|mobile|cell|fax|whatsapp)\b\.?(?:\s+(?:no\.?|number))?|电话|手机(?:号码|号)?|联系方式)/gi;

/** How the value after a label is shaped and how many digits make it an identifier. */
interface LabelRule {
  readonly kind: IdentifierKind;
  readonly label: RegExp;
  readonly valueEnd: (text: string, from: number) => number;
  readonly minDigits: number;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const GLUE_MARKS = new Set([0x3a, 0xff1a, 0x23, 0x3d, 0x4e3a, 0x662f]); // : ： # = 为 是
const HYPHEN = 0x2d;
const PLUS = 0x2b;
const SPACE = 0x20;
/** What may stand between the digits of a labelled phone number: space, tab, no-break space, ( ) . - */
const PHONE_SEPARATORS = new Set([SPACE, 0x09, 0xa0, 0x28, 0x29, 0x2e, HYPHEN]);

/** A code: 5+ ASCII letters, digits and '-', digit groups may be spaced, first and last a letter or digit. */
function codeValueEnd(text: string, from: number): number {
  if (!isAsciiAlphanumeric(text.charCodeAt(from))) return -1;
  let lastAlphanumeric = from;
  let j = from + 1;
  for (; j < text.length; j++) {
    const code = text.charCodeAt(j);
    if (isAsciiAlphanumeric(code)) lastAlphanumeric = j;
    else if (code === HYPHEN) continue;
    else if (!(code === SPACE && isDigit(text.charCodeAt(j - 1)) && isDigit(text.charCodeAt(j + 1)))) break;
  }
  return lastAlphanumeric + 1 - from >= 5 ? lastAlphanumeric + 1 : -1;
}

/** A phone number: an optional '+', then digits, spaces, ( ) . - ending in a digit, 6 characters or more. */
function phoneValueEnd(text: string, from: number): number {
  const start = text.charCodeAt(from) === PLUS ? from + 1 : from;
  const first = text.charCodeAt(start);
  if (!isDigit(first) && first !== 0x28) return -1;
  let lastDigit = isDigit(first) ? start : -1;
  for (let j = start + 1; j < text.length; j++) {
    const code = text.charCodeAt(j);
    if (isDigit(code)) lastDigit = j;
    else if (!PHONE_SEPARATORS.has(code)) break;
  }
  return lastDigit + 1 - start >= 6 ? lastDigit + 1 : -1;
}

const RULES: readonly LabelRule[] = [
  { kind: "insuranceNumber", label: INSURANCE_LABEL, valueEnd: codeValueEnd, minDigits: 4 },
  { kind: "idNumber", label: ID_LABEL, valueEnd: codeValueEnd, minDigits: 4 },
  { kind: "phone", label: PHONE_LABEL, valueEnd: phoneValueEnd, minDigits: 6 },
];

/** Where the glue after a label ends: spaces, at most one of : ： # = "is" 为 是, spaces. */
function glueEnd(text: string, from: number): number {
  let j = from;
  while (j < text.length && isSpaceAt(text, j)) j++;
  const code = text.charCodeAt(j);
  if (GLUE_MARKS.has(code)) j++;
  else if (
    (code === 0x69 || code === 0x49) &&
    (text[j + 1] === "s" || text[j + 1] === "S") &&
    !isWordCode(codePointBefore(text, j)) &&
    !isWordCode(codePointAt(text, j + 2))
  )
    j += 2;
  while (j < text.length && isSpaceAt(text, j)) j++;
  return j;
}

function digitCount(text: string, start: number, end: number): number {
  let count = 0;
  for (let j = start; j < end; j++) if (isDigit(text.charCodeAt(j))) count++;
  return count;
}

/** The labelled values of one rule, in order: a value with too few digits, or a date, is skipped. */
function findLabelled(text: string, rule: LabelRule): Found[] {
  const found: Found[] = [];
  const label = new RegExp(rule.label.source, rule.label.flags);
  for (let match = label.exec(text); match; match = label.exec(text)) {
    const valueStart = glueEnd(text, match.index + match[0].length);
    const valueEnd = rule.valueEnd(text, valueStart);
    if (valueEnd < 0) continue;
    label.lastIndex = valueEnd;
    const value = text.slice(valueStart, valueEnd);
    if (digitCount(text, valueStart, valueEnd) >= rule.minDigits && !ISO_DATE.test(value))
      found.push({ kind: rule.kind, start: valueStart, end: valueEnd });
  }
  return found;
}

/** Insurance, then ID, then phone labels: the order in which an overlap is settled. */
export function findLabelledValues(scan: ScanText): Found[][] {
  return RULES.map((rule) => findLabelled(scan.text, rule));
}
