// The SQLite database: private files (also its WAL side files) and forward-only migrations.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { crashDurableWrite, openDatabase } from "../../src/storage/db.js";
import { creationMarker, DatabaseDamagedError } from "../../src/storage/db-marker.js";

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

  it("refuses an emptied database it created before, naming the file, and leaves it as it is", () => {
    const file = path.join(dir, "workspace", "medbot.db");
    const db = openDatabase(file);
    db.prepare("INSERT INTO sessions (key, created_at, updated_at) VALUES ('cli:a:b', 'now', 'now')").run();
    db.close();
    expect(fs.statSync(creationMarker(file)).mode & 0o777).toBe(0o600);

    fs.truncateSync(file, 0);
    fs.rmSync(`${file}-wal`, { force: true });
    expect(() => openDatabase(file)).toThrow(DatabaseDamagedError);
    expect(() => openDatabase(file)).toThrow(`The database ${file} is empty (0 bytes)`);
    expect(fs.statSync(file).size).toBe(0);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });

  it("starts an empty file afresh only when no database was ever there, and marks older databases", () => {
    const fresh = path.join(dir, "fresh.db");
    fs.writeFileSync(fresh, "");
    openDatabase(fresh).close();
    expect(fs.existsSync(creationMarker(fresh))).toBe(true);

    // A database from before the marker existed gets one when opened, so its truncation is caught too.
    fs.rmSync(creationMarker(fresh));
    openDatabase(fresh).close();
    fs.truncateSync(fresh, 0);
    expect(() => openDatabase(fresh)).toThrow(DatabaseDamagedError);
  });
});

describe("crashDurableWrite", () => {
  it("commits the write, and leaves the connection at synchronous=FULL afterwards, also when the write throws", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-db-sync-"));
    const db = openDatabase(path.join(dir, "medbot.db"));
    try {
      const FULL = 2;
      expect(db.pragma("synchronous", { simple: true })).toBe(FULL);
      crashDurableWrite(db, () =>
        db
          .prepare("INSERT INTO sessions (key, created_at, updated_at) VALUES ('cli:a:b', 'now', 'now')")
          .run(),
      );
      expect(db.pragma("synchronous", { simple: true })).toBe(FULL);
      expect(() =>
        crashDurableWrite(db, () => {
          throw new Error("refused");
        }),
      ).toThrow("refused");
      expect(db.pragma("synchronous", { simple: true })).toBe(FULL);
      expect(db.prepare("SELECT count(*) AS n FROM sessions").get()).toEqual({ n: 1 });
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
