// The one way medbot writes files: folders 0700, files 0600 whatever the umask, atomic, no leftovers.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ensurePrivateDir,
  formatMode,
  tightenModes,
  touchPrivateFile,
  writePrivateFile,
} from "../../src/storage/private-fs.js";

const modeOf = (p: string): number => fs.statSync(p).mode & 0o777;

describe("private files under umask 000", () => {
  let previousUmask: number;
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-private-"));
    previousUmask = process.umask(0);
  });
  afterEach(() => {
    process.umask(previousUmask);
  });

  it("ensurePrivateDir creates every missing folder as 0700", () => {
    ensurePrivateDir(path.join(dir, "a", "b", "c"));
    expect(modeOf(path.join(dir, "a"))).toBe(0o700);
    expect(modeOf(path.join(dir, "a", "b"))).toBe(0o700);
    expect(modeOf(path.join(dir, "a", "b", "c"))).toBe(0o700);
  });

  it("ensurePrivateDir leaves a folder that already exists alone", () => {
    const shared = path.join(dir, "shared");
    fs.mkdirSync(shared, { mode: 0o755 });
    ensurePrivateDir(path.join(shared, "mine"));
    expect(modeOf(shared)).toBe(0o755);
    expect(modeOf(path.join(shared, "mine"))).toBe(0o700);
  });

  it("writePrivateFile writes the content as 0600 and creates its folders as 0700", () => {
    const file = path.join(dir, "family", "mum", "record.md");
    writePrivateFile(file, "# Mum\n");
    expect(fs.readFileSync(file, "utf8")).toBe("# Mum\n");
    expect(modeOf(file)).toBe(0o600);
    expect(modeOf(path.join(dir, "family"))).toBe(0o700);
    expect(modeOf(path.join(dir, "family", "mum"))).toBe(0o700);
  });

  it("writePrivateFile makes a replaced 0644 file 0600", () => {
    const file = path.join(dir, "notes.md");
    fs.writeFileSync(file, "old", { mode: 0o644 });
    writePrivateFile(file, new TextEncoder().encode("new"));
    expect(fs.readFileSync(file, "utf8")).toBe("new");
    expect(modeOf(file)).toBe(0o600);
  });

  it("touchPrivateFile creates an empty 0600 file, and tightens one that exists without touching its content", () => {
    const created = path.join(dir, "db", "medbot.db");
    touchPrivateFile(created);
    expect(fs.readFileSync(created, "utf8")).toBe("");
    expect(modeOf(created)).toBe(0o600);
    expect(modeOf(path.dirname(created))).toBe(0o700);

    const existing = path.join(dir, "existing.db");
    fs.writeFileSync(existing, "data", { mode: 0o666 });
    touchPrivateFile(existing);
    expect(fs.readFileSync(existing, "utf8")).toBe("data");
    expect(modeOf(existing)).toBe(0o600);
  });
});

describe("atomic writes", () => {
  it("leave only the target file behind, however often it is rewritten", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-atomic-"));
    const file = path.join(dir, "MEMORY.md");
    for (let i = 0; i < 20; i++) writePrivateFile(file, `version ${i}\n`);
    expect(fs.readdirSync(dir)).toEqual(["MEMORY.md"]);
    expect(fs.readFileSync(file, "utf8")).toBe("version 19\n");
  });

  it("leave no temp file when the write fails, and the old target untouched", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-atomic-"));
    const target = path.join(dir, "report");
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, "keep.txt"), "kept");
    expect(() => writePrivateFile(target, "would replace a folder")).toThrow();
    expect(fs.readdirSync(dir)).toEqual(["report"]);
    expect(fs.readFileSync(path.join(target, "keep.txt"), "utf8")).toBe("kept");
  });
});

describe("tightenModes", () => {
  it("removes group and other access, reports each change, and leaves private and missing paths alone", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-tighten-"));
    const folder = path.join(dir, "workspace");
    const open = path.join(dir, "config.json");
    const closed = path.join(dir, "closed.json");
    fs.mkdirSync(folder);
    fs.writeFileSync(open, "{}");
    fs.writeFileSync(closed, "{}");
    fs.chmodSync(folder, 0o755);
    fs.chmodSync(open, 0o644);
    fs.chmodSync(closed, 0o600);

    const changed = tightenModes([folder, open, closed, path.join(dir, "missing")]);

    expect(changed).toEqual([
      { path: folder, was: 0o755, now: 0o700 },
      { path: open, was: 0o644, now: 0o600 },
    ]);
    expect(modeOf(folder)).toBe(0o700);
    expect(modeOf(open)).toBe(0o600);
    expect(modeOf(closed)).toBe(0o600);
  });

  it("leaves a link's target and another user's file as they are (medbot tightens only what it owns)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-tighten-"));
    const target = path.join(dir, "someone-elses.txt");
    const link = path.join(dir, "config.json");
    const foreign = path.join(dir, "foreign.json");
    fs.writeFileSync(target, "{}");
    fs.chmodSync(target, 0o644);
    fs.symlinkSync(target, link);
    fs.writeFileSync(foreign, "{}");
    fs.chmodSync(foreign, 0o644);
    const uid = process.getuid?.() ?? 0;

    expect(tightenModes([link, foreign], uid + 1)).toEqual([]);
    expect(tightenModes([link], uid)).toEqual([]);
    expect(modeOf(target)).toBe(0o644);
    expect(modeOf(foreign)).toBe(0o644);
  });

  it("formats modes as four octal digits for messages", () => {
    expect(formatMode(0o755)).toBe("0755");
    expect(formatMode(0o600)).toBe("0600");
    expect(formatMode(0o40700)).toBe("0700");
  });
});

describe("removeOrphanedTemps", () => {
  it("removes temp files of writers that are gone and keeps those of live ones and other files", async () => {
    const { removeOrphanedTemps } = await import("../../src/storage/private-fs.js");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-temps-"));
    const dead = ".record.md.999999.0123abcd.tmp";
    const live = `.record.md.${process.pid}.89abcdef.tmp`;
    for (const name of [dead, live, "record.md", "notes.tmp"]) fs.writeFileSync(path.join(dir, name), "x");
    expect(removeOrphanedTemps(dir)).toBe(1);
    expect(fs.readdirSync(dir).sort()).toEqual([live, "notes.tmp", "record.md"].sort());
  });
});
