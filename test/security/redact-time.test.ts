// Redaction runs on every message before the provider sees it, on the gateway's one thread: one slow message
// froze every chat (issue 12). Each shape at 1 MB must redact in linear time: a super-linear detector takes
// minutes at this size, so the bounds below catch it while leaving room for a loaded CI machine (the real
// figures, some 100 ms per shape, are printed by `npm run bench`).
import { describe, expect, it } from "vitest";
import { redactIdentifiers } from "../../src/security/redact.js";
import { redactionShapes } from "../support/redaction-shapes.js";

const ONE_MB = 1_000_000;
const BOUND_MS = 10_000;

describe("redactIdentifiers on 1 MB of every shape", () => {
  it.each(redactionShapes(ONE_MB))("$shape finishes in linear time (under 10 s)", ({ text }) => {
    const started = performance.now();
    redactIdentifiers(text);
    expect(performance.now() - started).toBeLessThan(BOUND_MS);
  });

  it("a 60,000-character Chinese message (the one that froze the gateway) takes under 1 s", () => {
    const text = "我的血压今天早上是一百四十二医生说要注意饮食".repeat(2_500).slice(0, 60_000);
    const started = performance.now();
    redactIdentifiers(text);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
