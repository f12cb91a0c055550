// Finds email addresses (and WhatsApp JIDs, which are addresses too). Only the characters around each '@' are
// read: back over its local part and forward over its domain, both of which stop at the next '@', so no
// character is read more than twice whatever the text (a million '@', a million letters, a million labels).
import {
  codePointAt,
  codePointBefore,
  type Found,
  isLetter,
  isLetterOrNumber,
  type ScanText,
  widthOf,
} from "./redact-text.js";

const DOT = 0x2e;
const HYPHEN = 0x2d;
/** Besides letters and numbers, a local part may hold . _ % + - */
const LOCAL_EXTRA = new Set([DOT, 0x5f, 0x25, 0x2b, HYPHEN]);

/** `local@domain.tld`: local of letters, numbers and ._%+-; dot-separated labels; a final label of 2+ letters. */
export function findEmails(scan: ScanText): Found[] {
  const { text } = scan;
  const found: Found[] = [];
  let searchFrom = 0;
  for (let at = text.indexOf("@"); at >= 0; at = text.indexOf("@", searchFrom)) {
    searchFrom = at + 1;
    const start = localStart(text, at, found.at(-1)?.end ?? 0);
    const end = start < at ? domainEnd(text, at + 1) : -1;
    if (end < 0) continue;
    found.push({ kind: "email", start, end });
    searchFrom = end;
  }
  return found;
}

/** Where the local part before the '@' at `at` begins (`at` if it is empty), not before `floor`. */
function localStart(text: string, at: number, floor: number): number {
  let start = at;
  while (start > floor) {
    const code = codePointBefore(text, start);
    if (!(isLetterOrNumber(code) || LOCAL_EXTRA.has(code))) break;
    start -= widthOf(code);
  }
  return Math.max(start, floor);
}

/**
 * The end of the longest domain starting at `from` (labels of letters, numbers and '-', single dots between,
 * the last dot followed by at least two letters; the address may end inside that label), or -1.
 */
function domainEnd(text: string, from: number): number {
  let best = -1;
  let labelLength = 0;
  let afterDot = false;
  let leadingLetters = 0;
  let stillLetters = false;
  for (let j = from; j < text.length; ) {
    const code = codePointAt(text, j);
    const width = widthOf(code);
    if (code === DOT) {
      if (labelLength === 0) break;
      labelLength = 0;
      afterDot = true;
      leadingLetters = 0;
      stillLetters = true;
    } else if (isLetterOrNumber(code) || code === HYPHEN) {
      labelLength++;
      if (afterDot && stillLetters && isLetter(code)) {
        leadingLetters++;
        if (leadingLetters >= 2) best = j + width;
      } else {
        stillLetters = false;
      }
    } else {
      break;
    }
    j += width;
  }
  return best;
}
