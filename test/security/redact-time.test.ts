// Redaction runs on every message before the provider sees it, on the gateway's one thread: one slow message
// froze every chat (issue 12). Each shape at 1 MB must redact in well under two seconds, i.e. in linear time.
import { describe, expect, it } from "vitest";
import { redactIdentifiers } from "../../src/security/redact.js";
import { redactionShapes } from "../support/redaction-shapes.js";

const ONE_MB = 1_000_000;
const BOUND_MS = 2_000;

describe("redactIdentifiers on 1 MB of every shape", () => {
  it.each(redactionShapes(ONE_MB))("$shape finishes in under 2 s", ({ text }) => {
    const started = performance.now();
    redactIdentifiers(text);
    expect(performance.now() - started).toBeLessThan(BOUND_MS);
  });

  it("a 60,000-character Chinese message (the one that froze the gateway) takes under 100 ms", () => {
    const text = "我的血压今天早上是一百四十二医生说要注意饮食".repeat(2_500).slice(0, 60_000);
    const started = performance.now();
    redactIdentifiers(text);
    expect(performance.now() - started).toBeLessThan(100);
  });
});
