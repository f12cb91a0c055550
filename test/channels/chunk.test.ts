// Splitting long replies for a platform's message limit.
import { describe, expect, it } from "vitest";
import { chunkText } from "../../src/channels/chunk.js";

const fenceCount = (text: string) => (text.match(/^ {0,3}```/gm) ?? []).length;
const withoutFences = (text: string) =>
  text
    .replace(/^```.*$/gm, "")
    .replace(/\s+/g, " ")
    .trim();

describe("chunkText", () => {
  it("returns a short reply as it is", () => {
    expect(chunkText("Your next dose is at 20:00.", 4096)).toEqual(["Your next dose is at 20:00."]);
  });

  it("returns nothing for an empty reply", () => {
    expect(chunkText("  \n ", 4096)).toEqual([]);
  });

  it("splits at a paragraph boundary first", () => {
    const first = "Blood pressure readings were stable all month.";
    const second = "Glucose was slightly high after dinner twice.";
    expect(chunkText(`${first}\n\n${second}`, 60)).toEqual([first, second]);
  });

  it("splits at sentence and then word boundaries when a paragraph is too long", () => {
    expect(chunkText("First sentence here. Second sentence is here. Third one follows now.", 40)).toEqual([
      "First sentence here.",
      "Second sentence is here.",
      "Third one follows now.",
    ]);
    const words = chunkText("dose ".repeat(30).trim(), 40);
    expect(words.every((chunk) => chunk.length <= 40 && !chunk.includes("dos "))).toBe(true);
    expect(words.join(" ")).toBe("dose ".repeat(30).trim());
  });

  it("keeps a code block whole in one chunk when it fits", () => {
    const code = "```\nsystolic: 120\ndiastolic: 80\npulse: 64\n```";
    const prose = "Here are this morning's readings, as you asked me to record them today.";
    const chunks = chunkText(`${prose}\n\n${code}\n\nAll within your usual range.`, 90);
    expect(chunks).toHaveLength(2);
    expect(chunks[1]).toContain(code);
    for (const chunk of chunks) expect(fenceCount(chunk) % 2).toBe(0);
  });

  it("closes and reopens (with its language) a code block longer than the limit", () => {
    const lines = Array.from({ length: 300 }, (_, i) => `reading_${i} = ${100 + (i % 40)}`);
    const text = `Intro.\n\n\`\`\`python\n${lines.join("\n")}\n\`\`\`\n\nDone.`;
    const chunks = chunkText(text, 500);

    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(500);
      expect(fenceCount(chunk) % 2).toBe(0);
    }
    expect(chunks.slice(1, -1).every((chunk) => chunk.startsWith("```python\n"))).toBe(true);
    expect(chunks.at(-1)).toBe("Done.");
    expect(withoutFences(chunks.join("\n"))).toBe(withoutFences(text));
  });

  it("cuts a single line longer than the limit and still loses no text", () => {
    const text = "x".repeat(100);
    const chunks = chunkText(text, 40);
    expect(chunks.every((chunk) => chunk.length <= 40)).toBe(true);
    expect(chunks.join("")).toBe(text);
  });

  it("keeps every chunk of a 4096-limited reply within the limit", () => {
    const table = Array.from({ length: 400 }, (_, i) => `| 2025-${i} | 7.${i % 10} mmol/L |`).join("\n");
    const text = `${"Summary sentence. ".repeat(300)}\n\n\`\`\`\n${table}\n\`\`\`\n\n${"Closing words. ".repeat(50)}`;
    const chunks = chunkText(text, 4096);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(4096);
      expect(fenceCount(chunk) % 2).toBe(0);
    }
    expect(withoutFences(chunks.join("\n"))).toBe(withoutFences(text));
  });

  it("refuses a limit too small to hold a fenced line", () => {
    expect(() => chunkText("hello", 10)).toThrow(/too small/);
  });
});
