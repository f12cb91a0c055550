// Identifier redaction's figures for `npm run bench`: time to redact 1 MB of each shape that once made it
// quadratic (issue 12); linear time keeps every figure in the tens to hundreds of milliseconds.
import { redactIdentifiers } from "../src/security/redact.js";
import { redactionShapes } from "../test/support/redaction-shapes.js";

const ONE_MB = 1_000_000;

type Report = (what: string, value: string) => void;

/** Redacts each 1 MB shape three times and reports the fastest run (the others absorb warm-up and GC). */
export function benchRedact(report: Report): void {
  for (const { shape, text } of redactionShapes(ONE_MB)) {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      redactIdentifiers(text);
      best = Math.min(best, performance.now() - started);
    }
    report(`redact 1 MB: ${shape}`, `${best.toFixed(0)} ms`);
  }
}
