// Masks personal identifiers (phone numbers, email addresses, national ID, insurance and member numbers) in
// text bound for the model provider. Health data stays: readings, doses, dates, times and record ids are
// numbers too, so every detector needs a shape a reading never has (a "+", a trunk "0", a label, a check).
// It runs on every message on the gateway's one thread, so it is linear time: detectors are single passes
// (redact-email, redact-labels, redact-numbers) over one normalised copy of the text (redact-text).
import { findEmails } from "./redact-email.js";
import { findLabelledValues } from "./redact-labels.js";
import { findIdNumbers, findPhoneNumbers } from "./redact-numbers.js";
import { type Found, type IdentifierKind, originalRange, scanTextOf } from "./redact-text.js";

export type { IdentifierKind } from "./redact-text.js";

/** The placeholders, stable so the model can still tell that something was there and what kind it was. */
export const PLACEHOLDER = {
  phone: "[phone]",
  email: "[email]",
  idNumber: "[id-number]",
  insuranceNumber: "[insurance-number]",
} as const satisfies Record<IdentifierKind, string>;

/** An identifier at [start, end) of the text it was found in. */
export interface IdentifierSpan {
  readonly kind: IdentifierKind;
  readonly start: number;
  readonly end: number;
}

/**
 * The identifiers in `text`, in order and never overlapping. Where two detectors claim the same characters
 * the surer wins: emails hold digits, labels are surer than shapes, IDs are longer than phones.
 */
export function findIdentifiers(text: string): IdentifierSpan[] {
  const scan = scanTextOf(text);
  const [insurance = [], id = [], phone = []] = findLabelledValues(scan);
  const byPrecedence: Found[][] = [
    findEmails(scan),
    insurance,
    id,
    ...findIdNumbers(scan),
    phone,
    ...findPhoneNumbers(scan),
  ];
  const claimed = new Uint8Array(scan.text.length);
  const kept: Found[] = [];
  for (const found of byPrecedence) {
    for (const span of found) {
      if (claimed.subarray(span.start, span.end).includes(1)) continue;
      claimed.fill(1, span.start, span.end);
      kept.push(span);
    }
  }
  kept.sort((a, b) => a.start - b.start);
  return kept.map((span) => {
    const [start, end] = originalRange(scan, span.start, span.end);
    return { kind: span.kind, start, end };
  });
}

/**
 * `text` with each span replaced by what `replacement` gives for it (its placeholder by default). Spans must be
 * in order, inside the text and not overlapping, as findIdentifiers returns them.
 */
export function replaceIdentifiers(
  text: string,
  spans: readonly IdentifierSpan[],
  replacement: (span: IdentifierSpan) => string = (span) => PLACEHOLDER[span.kind],
): string {
  const parts: string[] = [];
  let at = 0;
  for (const span of spans) {
    if (span.start < at || span.end <= span.start || span.end > text.length)
      throw new RangeError(
        `identifier span ${span.start}-${span.end} is out of order, empty, overlapping or outside a text of ${text.length} characters`,
      );
    parts.push(text.slice(at, span.start), replacement(span));
    at = span.end;
  }
  parts.push(text.slice(at));
  return parts.join("");
}

/** Masks phone numbers, email addresses, ID and insurance numbers with placeholders; leaves health data. */
export function redactIdentifiers(text: string): string {
  return replaceIdentifiers(text, findIdentifiers(text));
}
