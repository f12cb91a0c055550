// The model rewrites the notes whole: an answer that would lose them (chatter instead of the file, a cut-off
// file, a drastic shrink) is refused and the notes stay; an accepted one keeps the old version in history/.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { actorFor } from "../../src/access/people.js";
import { NOTES_HISTORY_LIMIT } from "../../src/agent/memory-guard.js";
import { ALICE, type Harness, historyOf, isConsolidation, startAgent, turnRequests } from "./harness.js";

/** Household notes as a family keeps them after a few months: about 900 characters under four headings. */
const NOTES = [
  "# Memory",
  "",
  "## Household context",
  "- Four of us: dad (爸爸, 68), mum, Alice and grandma, who lives with us since March.",
  "- Dad's cardiologist is Dr Wu at the Lyon Sud hospital; the next visit is on 2026-12-01.",
  "- Grandma's GP is Dr Martin, who prefers letters to email.",
  "",
  "## Preferences",
  "- Morning appointments only; dad drives in the afternoon.",
  "- Blood pressure is taken at 7:00 and 19:00, sitting, left arm.",
  "- Alice wants a weekly summary on Sundays, not daily messages.",
  "- Grandma's medicines are in the blue box in the kitchen; mum refills it on Mondays.",
  "",
  "## Communication style",
  "- Grandma only speaks Cantonese; write to her in Traditional Chinese.",
  "- Dad prefers short answers without medical jargon.",
  "- Mum asks for the reasons behind advice; give them in two or three sentences.",
  "",
  "## Open questions",
  "- Whether dad's new statin should be taken in the evening (ask Dr Wu).",
  "- Whether grandma needs a flu shot booster this winter.",
  "",
].join("\n");

const historyDir = (h: Harness) => path.join(path.dirname(h.paths.memoryFile), "history");
const historyFiles = (h: Harness) =>
  fs.existsSync(historyDir(h)) ? fs.readdirSync(historyDir(h)).sort() : [];

/** A conversation of two turns, then /new with the summariser answering `summary`. */
async function newWithSummary(h: Harness, summary: string): Promise<string> {
  await h.send("we moved dad's appointments to Tuesdays");
  h.fake.onRequest((request) => (isConsolidation(request) ? { content: summary } : undefined));
  return h.send("/new");
}

describe("notes the model would lose", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("refuses a chatty answer instead of the file, keeps the notes and the conversation, and says so", async () => {
    h = await startAgent({ workspaceFiles: { "memory/MEMORY.md": NOTES } });

    const reply = await newWithSummary(
      h,
      "Sure! I've noted that dad's appointments are now on Tuesdays. Let me know if there is anything else.",
    );

    expect(reply).toMatch(/kept your saved notes as they were/);
    expect(reply).toMatch(/it has none of the 5 headings/);
    expect(reply).toMatch(/try \/new again/);
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe(NOTES);
    expect(historyFiles(h)).toEqual([]);
    expect(h.agent.sessions.live(ALICE)).toHaveLength(2);
    // The warning says why without any of the notes or the answer.
    expect(h.warnings).toEqual([
      "/new could not summarise the session: the model's new notes were refused: it has none of the 5 headings",
    ]);
  });

  it("refuses the file wrapped in chatter (text before its first heading)", async () => {
    h = await startAgent({ workspaceFiles: { "memory/MEMORY.md": NOTES } });

    const reply = await newWithSummary(h, `Here is the updated MEMORY.md:\n\n${NOTES}- Tuesdays now.\n`);

    expect(reply).toMatch(/text before the first heading/);
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe(NOTES);
  });

  it("refuses a truncated answer that stops in the middle of the notes", async () => {
    h = await startAgent({ workspaceFiles: { "memory/MEMORY.md": NOTES } });

    const reply = await newWithSummary(h, NOTES.slice(0, NOTES.indexOf("## Preferences") + 40));

    expect(reply).toMatch(/drops 2 of the 5 headings/);
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe(NOTES);
    expect(h.agent.sessions.live(ALICE)).toHaveLength(2);
  });

  it("refuses an answer that keeps the headings but less than half of the notes", async () => {
    h = await startAgent({ workspaceFiles: { "memory/MEMORY.md": NOTES } });
    const headingsOnly = NOTES.split("\n")
      .filter((line) => line.startsWith("#"))
      .join("\n\n");

    const reply = await newWithSummary(h, `${headingsOnly}\n- Dad: Tuesdays.`);

    expect(reply).toMatch(/shrinks the notes from \d+ to \d+ characters/);
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe(NOTES);
  });

  it("accepts a good answer and keeps the previous version in memory/history, 0600", async () => {
    h = await startAgent({ workspaceFiles: { "memory/MEMORY.md": NOTES } });
    const updated = NOTES.replace(
      "## Preferences\n",
      "## Preferences\n- Dad's appointments are on Tuesdays.\n",
    );

    const reply = await newWithSummary(h, updated);

    expect(reply).toMatch(/saved the key points/);
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe(updated);
    const [kept, ...more] = historyFiles(h);
    expect(more).toEqual([]);
    expect(kept).toMatch(/^MEMORY\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\.md$/);
    const keptFile = path.join(historyDir(h), kept!);
    expect(fs.readFileSync(keptFile, "utf8")).toBe(NOTES);
    expect(fs.statSync(keptFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(historyDir(h)).mode & 0o777).toBe(0o700);
    expect(h.agent.sessions.live(ALICE)).toEqual([]);
    expect(h.warnings).toEqual([]);
  });

  it(`keeps at most ${NOTES_HISTORY_LIMIT} previous versions, the newest`, async () => {
    h = await startAgent({ workspaceFiles: { "memory/MEMORY.md": NOTES } });
    for (let round = 1; round <= NOTES_HISTORY_LIMIT + 2; round++) {
      await h.send(`round ${round}`);
      h.fake.onRequest((request) =>
        isConsolidation(request) ? { content: `${NOTES}- Round ${round} noted.` } : undefined,
      );
      expect(await h.send("/new")).toMatch(/saved the key points/);
    }

    const kept = historyFiles(h);
    expect(kept).toHaveLength(NOTES_HISTORY_LIMIT);
    const texts = kept.map((name) => fs.readFileSync(path.join(historyDir(h), name), "utf8"));
    // The original and the first round's version were deleted; the newest kept is the one before the last.
    expect(texts).not.toContain(NOTES);
    expect(texts.some((text) => text.includes("Round 1 noted."))).toBe(false);
    expect(texts.filter((text) => text.includes(`Round ${NOTES_HISTORY_LIMIT + 1} noted.`))).toHaveLength(1);
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toContain(`Round ${NOTES_HISTORY_LIMIT + 2} noted.`);
  });

  it("guards a caregiver's own notes file the same way", async () => {
    const carolNotes = NOTES.replace("# Memory", "# Carol's notes");
    h = await startAgent({
      extraConfig: { people: { carol: { identities: ["telegram:555"], members: ["grandma"] } } },
      workspaceFiles: { "memory/people/carol.md": carolNotes },
    });
    const fromCarol = (text: string) =>
      h.agent.handle({
        sessionKey: "telegram:555:555",
        text,
        origin: { channel: "telegram", chatId: "555" },
        actor: actorFor(h.config, "telegram", "555"),
      });
    await fromCarol("grandma slept well");
    h.fake.onRequest((request) =>
      isConsolidation(request) ? { content: "Noted, grandma slept well!" } : undefined,
    );

    expect(await fromCarol("/new")).toMatch(/kept your saved notes as they were/);
    expect(fs.readFileSync(path.join(h.paths.workspace, "memory", "people", "carol.md"), "utf8")).toBe(
      carolNotes,
    );

    h.fake.onRequest((request) =>
      isConsolidation(request) ? { content: `${carolNotes}- Grandma slept well.` } : undefined,
    );
    expect(await fromCarol("/new")).toMatch(/saved the key points/);
    const peopleHistory = path.join(h.paths.workspace, "memory", "people", "history");
    const [kept] = fs.readdirSync(peopleHistory);
    expect(kept).toMatch(/^carol\..+\.md$/);
    expect(fs.readFileSync(path.join(peopleHistory, kept!), "utf8")).toBe(carolNotes);
  });

  it("keeps the older messages in the context when an overflow summary is refused", async () => {
    h = await startAgent({
      defaults: { contextWindowTokens: 6144, maxTokens: 512 },
      workspaceFiles: { "memory/MEMORY.md": NOTES },
    });
    h.fake.onRequest((request) =>
      isConsolidation(request) ? { content: "## Household context\n- ok" } : undefined,
    );

    let turn = 1;
    for (; turn <= 12 && !h.fake.chatRequests.some(isConsolidation); turn++) {
      await h.send(`turn ${turn}: ${"morning blood pressure diary entry, ".repeat(45)}`);
    }

    expect(h.fake.chatRequests.some(isConsolidation)).toBe(true);
    expect(fs.readFileSync(h.paths.memoryFile, "utf8")).toBe(NOTES);
    expect(historyOf(turnRequests(h.fake).at(-1)!).length).toBe(2 * (turn - 2));
    expect(h.warnings).toEqual([
      "could not summarise older messages into memory, keeping them: the model's new notes were refused: it drops 4 of the 5 headings",
    ]);
  });
});
