// Inputs that made identifier redaction quadratic (issue 12), shared by the time-bound test and `npm run bench`:
// each shape repeated to a given length, so a regression shows up in both places.

/** One name and the unit repeated to build it; the names are what the test and the bench print. */
const SHAPES: readonly [string, string][] = [
  ["CJK text", "爸爸血压正常空腹血糖偏高"],
  ["digits", "7"],
  ["digit/space runs", "12 "],
  ["spaced phone-like groups", "138 1234 "],
  ["'@' runs", "@"],
  ["local parts and '@'", "ann.lee@"],
  ["dotted domains", "a@b."],
  ["mixed punctuation", "+(0)-.:/# "],
  ["long words", "x"],
  ["newlines", "\n"],
  ["labels and whitespace", "policy  tel: "],
  ["a label then spaces", "insurance number"],
  ["dashes after a code", "a-"],
  ["full-width and zero-width digits", "１\u200b"],
];

/** Every shape at `length` UTF-16 units (1 MB of text is 1,000,000 here). */
export function redactionShapes(length: number): { shape: string; text: string }[] {
  return SHAPES.map(([shape, unit]) => {
    const body = unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
    // A label followed by a million spaces is the worst case for a label's glue.
    return {
      shape,
      text: shape === "a label then spaces" ? `${unit}${" ".repeat(length - unit.length)}` : body,
    };
  });
}
