// The SQLite database: private files (also its WAL side files) and forward-only migrations.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/storage/db.js";

describe("openDatabase", () => {
  let previousUmask: number;
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-db-"));
    previousUmask = process.umask(0);
  });
  afterEach(() => {
    process.umask(previousUmask);
  });

  it("creates the database, its folder and its -wal and -shm files private under umask 000", () => {
    const file = path.join(dir, "workspace", "medbot.db");
    const db = openDatabase(file);
    db.prepare("INSERT INTO sessions (key, created_at, updated_at) VALUES ('cli:a:b', 'now', 'now')").run();
    try {
      expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
      for (const name of ["medbot.db", "medbot.db-wal", "medbot.db-shm"]) {
        expect({ name, mode: fs.statSync(path.join(dir, "workspace", name)).mode & 0o777 }).toEqual({
          name,
          mode: 0o600,
        });
      }
    } finally {
      db.close();
    }
  });

  it("uses WAL and migrates once: reopening keeps the rows", () => {
    const file = path.join(dir, "medbot.db");
    const db = openDatabase(file);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    const version = db.pragma("user_version", { simple: true });
    expect(version).toBeGreaterThan(0);
    db.prepare("INSERT INTO sessions (key, created_at, updated_at) VALUES ('cli:a:b', 'now', 'now')").run();
    db.close();

    const again = openDatabase(file);
    expect(again.pragma("user_version", { simple: true })).toBe(version);
    expect(again.prepare("SELECT count(*) AS n FROM sessions").get()).toEqual({ n: 1 });
    again.close();
  });
});
