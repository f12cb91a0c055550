// read_file, write_file, edit_file, list_dir: confined to the workspace (symlinks resolved) unless configured
// otherwise; the database and the archive's family/ views are never written by them.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Actor, hostOwner } from "../../src/access/actor.js";
import { actorFor } from "../../src/access/people.js";
import { BUILTIN_SKILLS_DIR } from "../../src/agent/skills.js";
import { fileTools } from "../../src/agent/tools/files.js";
import { ingestReportTool } from "../../src/agent/tools/reports.js";
import { runToolCall, type ToolContext } from "../../src/agent/tools/tool.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { configSchema } from "../../src/config/schema.js";
import { openDatabase } from "../../src/storage/db.js";

let root: string;
let workspace: string;
let outside: string;
let confined: ToolContext;
let unconfined: ToolContext;

/** Runs one file tool as the model would call it. */
function call(name: string, args: unknown, context: ToolContext = confined): Promise<string> {
  return runToolCall(fileTools, { id: "c1", name, arguments: JSON.stringify(args) }, context);
}

const REFUSED_OUTSIDE = /^Error: .*outside the workspace/;

beforeEach(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "medbot-files-")));
  workspace = path.join(root, "workspace");
  outside = path.join(root, "elsewhere");
  fs.mkdirSync(workspace);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, "secret.txt"), "neighbour's HIV status\n");
  confined = {
    workspace,
    restrictToWorkspace: true,
    builtinSkills: BUILTIN_SKILLS_DIR,
    sessionKey: "test:chat:alice",
    actor: hostOwner("test"),
    archive: new FamilyArchive(openDatabase(":memory:")),
  };
  unconfined = { ...confined, restrictToWorkspace: false };
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe("confinement to the workspace", () => {
  const escapes: [string, () => string][] = [
    ["a ../ path", () => "../elsewhere/secret.txt"],
    ["an absolute path outside", () => path.join(outside, "secret.txt")],
    ["a symlinked folder inside pointing outside", () => "linked/secret.txt"],
    ["a symlinked file inside pointing outside", () => "secret-link.txt"],
  ];
  beforeEach(() => {
    fs.symlinkSync(outside, path.join(workspace, "linked"));
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(workspace, "secret-link.txt"));
  });

  it.each(escapes)("refuses to read through %s", async (_what, target) => {
    const result = await call("read_file", { path: target() });
    expect(result).toMatch(REFUSED_OUTSIDE);
    expect(result).not.toContain("HIV");
  });

  it.each(escapes)("refuses to write through %s", async (_what, target) => {
    expect(await call("write_file", { path: target(), content: "overwritten" })).toMatch(REFUSED_OUTSIDE);
    expect(fs.readFileSync(path.join(outside, "secret.txt"), "utf8")).toBe("neighbour's HIV status\n");
  });

  it.each(escapes)("refuses to edit through %s", async (_what, target) => {
    const result = await call("edit_file", { path: target(), old_text: "HIV", new_text: "flu" });
    expect(result).toMatch(REFUSED_OUTSIDE);
    expect(fs.readFileSync(path.join(outside, "secret.txt"), "utf8")).toBe("neighbour's HIV status\n");
  });

  it("refuses to create a new file in a folder outside through a symlink", async () => {
    expect(await call("write_file", { path: "linked/new.txt", content: "x" })).toMatch(REFUSED_OUTSIDE);
    expect(fs.existsSync(path.join(outside, "new.txt"))).toBe(false);
  });

  it("refuses to list a folder outside", async () => {
    expect(await call("list_dir", { path: ".." })).toMatch(REFUSED_OUTSIDE);
    expect(await call("list_dir", { path: "linked" })).toMatch(REFUSED_OUTSIDE);
  });

  it("allows paths outside when restrictToWorkspace is false", async () => {
    expect(await call("read_file", { path: "../elsewhere/secret.txt" }, unconfined)).toBe(
      "neighbour's HIV status\n",
    );
    expect(await call("read_file", { path: "linked/secret.txt" }, unconfined)).toBe(
      "neighbour's HIV status\n",
    );
    expect(
      await call("write_file", { path: path.join(outside, "out.txt"), content: "hi" }, unconfined),
    ).toMatch(/^Wrote 2 characters/);
    expect(fs.readFileSync(path.join(outside, "out.txt"), "utf8")).toBe("hi");
  });
});

describe("what the file tools never write", () => {
  beforeEach(() => {
    fs.writeFileSync(path.join(workspace, "medbot.db"), "SQLite format 3\0");
    fs.mkdirSync(path.join(workspace, "family", "mom"), { recursive: true });
    fs.writeFileSync(
      path.join(workspace, "family", "mom", "record.md"),
      "# Mom\n- generated — edit with medbot\n",
    );
  });

  it.each([
    ["the database", "medbot.db"],
    ["the database's WAL", "medbot.db-wal"],
    ["the audit head file", "medbot.db-audit-head.json"],
    ["a generated record view", "family/mom/record.md"],
    ["a new file in family/", "family/mom/notes.md"],
    ["family/ reached by a detour", "notes/../family/mom/record.md"],
  ])("refuses to write %s", async (_what, target) => {
    const before = fs.readFileSync(path.join(workspace, "family", "mom", "record.md"), "utf8");
    expect(await call("write_file", { path: target, content: "tampered" })).toMatch(
      /^Error: .*managed by medbot/,
    );
    expect(fs.readFileSync(path.join(workspace, "family", "mom", "record.md"), "utf8")).toBe(before);
    expect(fs.existsSync(path.join(workspace, "family", "mom", "notes.md"))).toBe(false);
  });

  it("never reads or writes the audit signing key, in the workspace or (unconfined) the data folder", async () => {
    const inWorkspace = path.join(workspace, "audit-signing.key");
    const inDataFolder = path.join(root, "audit-signing.key");
    for (const file of [inWorkspace, inDataFolder]) fs.writeFileSync(file, "PRIVATE KEY\n");
    for (const [target, context] of [
      ["audit-signing.key", confined],
      [inDataFolder, unconfined],
      ["linked-key", confined],
    ] as const) {
      if (target === "linked-key") fs.symlinkSync(inWorkspace, path.join(workspace, target));
      expect(await call("read_file", { path: target }, context)).toMatch(/^Error: .*audit signing key/);
      expect(await call("write_file", { path: target, content: "x" }, context)).toMatch(
        /^Error: .*audit signing key/,
      );
    }
    for (const file of [inWorkspace, inDataFolder])
      expect(fs.readFileSync(file, "utf8")).toBe("PRIVATE KEY\n");
  });

  it("refuses family/ even through a symlink inside the workspace", async () => {
    fs.symlinkSync(path.join(workspace, "family"), path.join(workspace, "views"));
    expect(await call("write_file", { path: "views/mom/record.md", content: "tampered" })).toMatch(
      /managed by medbot/,
    );
  });

  it("refuses to edit a record view", async () => {
    const result = await call("edit_file", {
      path: "family/mom/record.md",
      old_text: "# Mom",
      new_text: "# X",
    });
    expect(result).toMatch(/managed by medbot/);
  });

  it("still lets the model read them", async () => {
    expect(await call("read_file", { path: "family/mom/record.md" })).toContain("# Mom");
  });
});

describe("write_file", () => {
  it("creates private files (0600) and folders (0700)", async () => {
    const result = await call("write_file", { path: "notes/visits/2025.md", content: "Dr. Wu, March 3\n" });
    expect(result).toBe("Wrote 16 characters to notes/visits/2025.md.");
    const file = path.join(workspace, "notes", "visits", "2025.md");
    expect(fs.readFileSync(file, "utf8")).toBe("Dr. Wu, March 3\n");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(workspace, "notes")).mode & 0o777).toBe(0o700);
  });

  it("replaces an existing file and makes it private", async () => {
    const file = path.join(workspace, "USER.md");
    fs.writeFileSync(file, "old", { mode: 0o644 });
    await call("write_file", { path: "USER.md", content: "new" });
    expect(fs.readFileSync(file, "utf8")).toBe("new");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe("edit_file", () => {
  const file = () => path.join(workspace, "USER.md");
  beforeEach(() => fs.writeFileSync(file(), "Name: Li\nBlood type: A\nNotes: A+ donor card\n"));

  it("replaces text that occurs exactly once, keeping $ patterns literal", async () => {
    expect(
      await call("edit_file", { path: "USER.md", old_text: "Name: Li", new_text: "Name: Li Wei ($&)" }),
    ).toBe("Edited USER.md.");
    expect(fs.readFileSync(file(), "utf8")).toBe("Name: Li Wei ($&)\nBlood type: A\nNotes: A+ donor card\n");
    expect(fs.statSync(file()).mode & 0o777).toBe(0o600);
  });

  it("refuses text that is not there, changing nothing", async () => {
    const result = await call("edit_file", { path: "USER.md", old_text: "Blood type: B", new_text: "x" });
    expect(result).toMatch(/^Error: .*not found/);
    expect(fs.readFileSync(file(), "utf8")).toContain("Blood type: A");
  });

  it("refuses text that occurs more than once, saying how often", async () => {
    const result = await call("edit_file", { path: "USER.md", old_text: ": A", new_text: ": O" });
    expect(result).toMatch(/^Error: .*occurs 2 times/);
    expect(fs.readFileSync(file(), "utf8")).toBe("Name: Li\nBlood type: A\nNotes: A+ donor card\n");
  });

  it("refuses a file that does not exist", async () => {
    expect(await call("edit_file", { path: "nope.md", old_text: "a", new_text: "b" })).toMatch(
      /does not exist/,
    );
    expect(fs.existsSync(path.join(workspace, "nope.md"))).toBe(false);
  });
});

describe("read_file", () => {
  beforeEach(() => {
    const lines = Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join("\n");
    fs.writeFileSync(path.join(workspace, "log.md"), `${lines}\n`);
  });

  it("reads a whole file", async () => {
    expect(await call("read_file", { path: "log.md" })).toMatch(/^line 1\nline 2\n[\s\S]*line 10\n$/);
  });

  it("reads a window of lines with a 1-based offset and a limit", async () => {
    expect(await call("read_file", { path: "log.md", offset: 3, limit: 2 })).toBe("line 3\nline 4");
    expect(await call("read_file", { path: "log.md", offset: 9 })).toBe("line 9\nline 10\n");
    expect(await call("read_file", { path: "log.md", limit: 1 })).toBe("line 1");
  });

  it("rejects an offset below 1 as an invalid argument", async () => {
    expect(await call("read_file", { path: "log.md", offset: 0 })).toMatch(/invalid arguments[\s\S]*offset/);
  });

  it("reads a built-in skill at skills/<name>/SKILL.md", async () => {
    const text = await call("read_file", { path: "skills/pretriage/SKILL.md" });
    expect(text).toBe(fs.readFileSync(path.join(BUILTIN_SKILLS_DIR, "pretriage", "SKILL.md"), "utf8"));
    expect(text).toContain("name: pretriage");
  });

  it("reads a workspace skill when no built-in has its name", async () => {
    fs.mkdirSync(path.join(workspace, "skills", "garden"), { recursive: true });
    fs.writeFileSync(path.join(workspace, "skills", "garden", "SKILL.md"), "---\nname: garden\n---\nwater");
    expect(await call("read_file", { path: "skills/garden/SKILL.md" })).toContain("water");
  });

  it("says what is wrong with a missing file or a folder", async () => {
    expect(await call("read_file", { path: "missing.md" })).toMatch(/^Error: .*"missing.md" does not exist/);
    fs.mkdirSync(path.join(workspace, "notes"));
    expect(await call("read_file", { path: "notes" })).toMatch(/is a folder; use list_dir/);
  });
});

describe("list_dir", () => {
  it("lists folders with a trailing slash and hides unfinished temp files", async () => {
    fs.mkdirSync(path.join(workspace, "memory"));
    fs.writeFileSync(path.join(workspace, "AGENTS.md"), "");
    fs.writeFileSync(path.join(workspace, ".AGENTS.md.123.abcd.tmp"), "");
    expect(await call("list_dir", {})).toBe("AGENTS.md\nmemory/");
  });
});

describe("received files belong to their sender", () => {
  const DAD = "491701111111";
  const CAROL = "491702222222";
  const config = configSchema.parse({
    people: {
      dad: { identities: [`whatsapp:+49 170 1111111`], members: ["dad"] },
      carol: { identities: [`whatsapp:${CAROL}`, "telegram:333"], members: ["grandma"] },
    },
  });
  const dadsReport = path.join("media", "whatsapp", DAD, "1-ab-labs.txt");
  const carolsPhoto = path.join("media", "whatsapp", CAROL, "2-cd-rash.txt");
  const as = (actor: Actor): ToolContext => ({ ...confined, actor });
  const carol = () => as(actorFor(config, "telegram", "333"));
  const noGrants = () => as(actorFor(config, "whatsapp", "491709999999"));
  const REFUSED = /^Error: .*not available in this conversation/;

  beforeEach(() => {
    for (const [file, text] of [
      [dadsReport, "potassium 5.9 mmol/L\n"],
      [carolsPhoto, "rash on the left arm\n"],
    ] as const) {
      fs.mkdirSync(path.dirname(path.join(workspace, file)), { recursive: true });
      fs.writeFileSync(path.join(workspace, file), text);
    }
  });

  it.each([
    ["a caregiver granted only grandma", carol],
    ["an allowed sender with no grants", noGrants],
  ])("%s cannot read or list Dad's file, by any path", async (_who, context) => {
    fs.symlinkSync(
      path.join(workspace, dadsReport),
      path.join(workspace, "media", "whatsapp", CAROL, "link.txt"),
    );
    for (const requested of [
      dadsReport,
      `media/whatsapp/${CAROL}/../${DAD}/1-ab-labs.txt`,
      `media/whatsapp/${CAROL}/link.txt`,
      `MEDIA/whatsapp/${DAD}/1-ab-labs.txt`,
      path.join(workspace, dadsReport),
    ]) {
      const result = await call("read_file", { path: requested }, context());
      expect(result, requested).toMatch(REFUSED);
    }
    for (const folder of ["media", "media/whatsapp", `media/whatsapp/${DAD}`, `media/whatsapp/${DAD}/`]) {
      const result = await call("list_dir", { path: folder }, context());
      expect(result, folder).toMatch(REFUSED);
      expect(result).not.toContain("labs");
    }
    const ingest = await runToolCall(
      [ingestReportTool],
      { id: "c2", name: "ingest_report", arguments: JSON.stringify({ member: "grandma", path: dadsReport }) },
      context(),
    );
    expect(ingest).toMatch(REFUSED);
  });

  it("lets the sender read and list their own files, from any of their channels", async () => {
    expect(await call("read_file", { path: carolsPhoto }, carol())).toBe("rash on the left arm\n");
    expect(await call("list_dir", { path: `media/whatsapp/${CAROL}` }, carol())).toBe("2-cd-rash.txt");
    const dad = as(actorFor(config, "whatsapp", DAD));
    expect(await call("read_file", { path: dadsReport }, dad)).toBe("potassium 5.9 mmol/L\n");
    expect(await call("read_file", { path: carolsPhoto }, dad)).toMatch(REFUSED);
  });

  it("lets an owner read and list every received file", async () => {
    expect(await call("read_file", { path: dadsReport })).toBe("potassium 5.9 mmol/L\n");
    expect(await call("list_dir", { path: "media/whatsapp" })).toBe(`${DAD}/\n${CAROL}/`);
  });
});
