// Masks personal identifiers (phone numbers, email addresses, national ID, insurance and member numbers) in
// text bound for the model provider. Health data stays: readings, doses, dates, times and record ids are
// numbers too, so every pattern needs a shape a reading never has (a "+", a trunk "0", a label, a check).

/** The placeholders, stable so the model can still tell that something was there and what kind it was. */
export const PLACEHOLDER = {
  phone: "[phone]",
  email: "[email]",
  idNumber: "[id-number]",
  insuranceNumber: "[insurance-number]",
} as const;

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/gu;

/** A value after a label: five characters or more, digit groups may be spaced; its digits are counted below. */
const LABELLED_VALUE = String.raw`([A-Za-z0-9](?:[A-Za-z0-9-]|(?<=\d) (?=\d)){3,}[A-Za-z0-9])`;
const LABEL_GLUE = String.raw`(\s*(?:[:：#=]|\bis\b|为|是)?\s*)`;

const INSURANCE_LABEL = new RegExp(
  String.raw`((?:\b(?:health\s+)?insurance(?:\s+(?:no\.?|number|id|card(?:\s+(?:no\.?|number))?))?|\bpolicy(?:\s+(?:no\.?|number))?|\bmember(?:ship)?\s+(?:id|no\.?|number)|\bsubscriber\s+id|\bgroup\s+(?:no\.?|number)|\bmedicare(?:\s+(?:no\.?|number))?|\bmedicaid(?:\s+(?:id|no\.?|number))?|\bversichertennummer|\bkrankenversicherungsnummer|医保(?:卡)?(?:号码|卡号|号)?|社保(?:卡)?(?:号码|卡号|号)?|保单号(?:码)?|保险(?:卡)?号(?:码)?))` +
    LABEL_GLUE +
    LABELLED_VALUE,
  "giu",
);

const ID_LABEL = new RegExp(
  String.raw`((?:\b(?:national\s+)?id(?:entity)?\s+(?:card\s+)?(?:no\.?|number)|\bpassport(?:\s+(?:no\.?|number))?|\bssn|\bsocial\s+security(?:\s+(?:no\.?|number))?|\bnhs\s+(?:no\.?|number)|\bdriver'?s?\s+licen[cs]e(?:\s+(?:no\.?|number))?|身份证(?:号码|号)?|护照(?:号码|号)?))` +
    LABEL_GLUE +
    LABELLED_VALUE,
  "giu",
);

const PHONE_LABEL = new RegExp(
  String.raw`((?:\b(?:tel|phone|telephone|mobile|cell|fax|whatsapp)\b\.?(?:\s+(?:no\.?|number))?|电话|手机(?:号码|号)?|联系方式))` +
    LABEL_GLUE +
    String.raw`(\+?[\d(][\d\s().-]{4,}\d)`,
  "giu",
);

/** Chinese resident ID: 6-digit region, a real-looking birth date, 3 digits, a check digit or X. */
const CHINESE_ID =
  /(?<![\p{L}\p{N}])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\p{L}\p{N}])/gu;

/** US social security number as written: 3-2-4 with dashes, never area 000/666/9xx. */
const US_SSN = /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/g;

/** +CC or 00CC, then digit groups. */
const INTERNATIONAL_PHONE = /(?<![\w+])(?:\+|00(?=[1-9]))\d{1,4}(?:[ .-]?\(?\d{1,5}\)?){1,6}(?!\d)/g;

/** Chinese mobile: 1[3-9] and nine digits, optionally as 3-4-4 groups. */
const CHINESE_MOBILE = /(?<![\d.])1[3-9]\d(?:[ -]?\d{4}){2}(?![\d.])/g;

/** A local number with a trunk 0 (030 1234567, 010-12345678, 06 12 34 56 78); digit count checked below. */
const TRUNK_PHONE = /(?<![\w.:/-])0\d{1,4}(?:[ -]?\d{2,8}){1,4}(?![\d])(?![.:/]\d)/g;

/** North American forms with unambiguous punctuation: (555) 123-4567, 555-123-4567, 555.123.4567. */
const NANP_PHONE = /(?<![\d.-])(?:\(\d{3}\)\s?\d{3}[ .-]\d{4}|\d{3}([.-])\d{3}\1\d{4})(?![\d.-]?\d)/g;

function digits(text: string): number {
  return text.replace(/\D/g, "").length;
}

/** Replaces the value after a label when it looks like a number (at least four digits, not a date). */
function maskLabelled(pattern: RegExp, placeholder: string, minDigits: number) {
  return (text: string) =>
    text.replace(pattern, (whole, label: string, glue: string, value: string) =>
      digits(value) >= minDigits && !/^\d{4}-\d{2}-\d{2}$/.test(value)
        ? `${label}${glue}${placeholder}`
        : whole,
    );
}

function maskCounted(pattern: RegExp, min: number, max: number) {
  return (text: string) =>
    text.replace(pattern, (match) => {
      const n = digits(match);
      return n >= min && n <= max ? PLACEHOLDER.phone : match;
    });
}

/** In order: emails hold digits, IDs are longer than phones, labels are more certain than shapes. */
const STEPS: readonly ((text: string) => string)[] = [
  (text) => text.replace(EMAIL, PLACEHOLDER.email),
  maskLabelled(INSURANCE_LABEL, PLACEHOLDER.insuranceNumber, 4),
  maskLabelled(ID_LABEL, PLACEHOLDER.idNumber, 4),
  (text) => text.replace(CHINESE_ID, PLACEHOLDER.idNumber),
  (text) => text.replace(US_SSN, PLACEHOLDER.idNumber),
  maskLabelled(PHONE_LABEL, PLACEHOLDER.phone, 6),
  maskCounted(INTERNATIONAL_PHONE, 8, 15),
  (text) => text.replace(CHINESE_MOBILE, PLACEHOLDER.phone),
  maskCounted(TRUNK_PHONE, 10, 12),
  (text) => text.replace(NANP_PHONE, PLACEHOLDER.phone),
];

/** Masks phone numbers, email addresses, ID and insurance numbers with placeholders; leaves health data. */
export function redactIdentifiers(text: string): string {
  return STEPS.reduce((current, step) => step(current), text);
}
