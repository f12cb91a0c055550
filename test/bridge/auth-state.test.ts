// The WhatsApp keys on disk: private modes whatever the umask, saves in order one at a time, and a corrupt
// creds.json recovered from the last good copy (which a corrupt file never overwrites).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { proto } from "@whiskeysockets/baileys";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type AuthFileWriter,
  CREDS_BACKUP_FILE,
  CREDS_FILE,
  keyFileName,
  loadAuthState,
} from "../../bridge/src/auth-state.js";
import { silentLogger } from "../../src/log.js";
import { writePrivateFile } from "../../src/storage/private-fs.js";

const modeOf = (p: string) => fs.statSync(p).mode & 0o777;
const logger = silentLogger();

describe("WhatsApp auth state", () => {
  let root: string;
  let dir: string;
  let umask: number;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-wa-auth-"));
    dir = path.join(root, "nested", "whatsapp-auth");
    umask = process.umask(0);
  });
  afterEach(() => {
    process.umask(umask);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("creates its folders 0700 and every file 0600, even under umask 000", async () => {
    const auth = await loadAuthState(dir, { logger });
    await auth.saveCreds();
    await auth.saveCreds();
    await auth.state.keys.set({
      "pre-key": { "1": { public: new Uint8Array([1]), private: new Uint8Array([2]) } },
    });
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(path.dirname(dir))).toBe(0o700);
    const files = fs.readdirSync(dir);
    expect(files.sort()).toEqual([CREDS_FILE, CREDS_BACKUP_FILE, "pre-key-1.json"].sort());
    for (const name of files) expect(modeOf(path.join(dir, name))).toBe(0o600);
  });

  it("tightens an existing folder and files another tool left open", async () => {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(dir, "session-x.json"), "{}", { mode: 0o644 });
    await loadAuthState(dir, { logger });
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(path.join(dir, "session-x.json"))).toBe(0o600);
  });

  it("round-trips creds and keys, Buffers included, through a reload", async () => {
    const first = await loadAuthState(dir, { logger });
    first.state.creds.me = { id: "4915123456789:3@s.whatsapp.net", lid: "98765:3@lid" };
    await first.saveCreds();
    await first.state.keys.set({
      session: { "4915123456789.3": new Uint8Array([7, 8, 9]) },
      "app-state-sync-key": { AAAA: { keyData: new Uint8Array([5]), timestamp: 12 } },
    });
    const second = await loadAuthState(dir, { logger });
    expect(second.restoredFromBackup).toBe(false);
    expect(second.state.creds.me).toEqual(first.state.creds.me);
    expect(Buffer.from(second.state.creds.noiseKey.private)).toEqual(
      Buffer.from(first.state.creds.noiseKey.private),
    );
    const sessions = await second.state.keys.get("session", ["4915123456789.3", "missing"]);
    expect(Buffer.from(sessions["4915123456789.3"]!)).toEqual(Buffer.from([7, 8, 9]));
    expect(sessions.missing).toBeUndefined();
    const appKeys = await second.state.keys.get("app-state-sync-key", ["AAAA"]);
    expect(appKeys.AAAA).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
    await second.state.keys.set({ session: { "4915123456789.3": null } });
    expect(await second.state.keys.get("session", ["4915123456789.3"])).toEqual({});
  });

  it("runs credential saves one at a time, in the order they were asked for", async () => {
    const events: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    // A slow writer that finishes later writes sooner would reorder saves if they ran in parallel.
    let delay = 40;
    const slowWrite: AuthFileWriter = async (file, data) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      delay = Math.max(1, delay - 10);
      await new Promise((resolve) => setTimeout(resolve, delay));
      writePrivateFile(file, data);
      if (path.basename(file) === CREDS_FILE) events.push(JSON.parse(data).lastPropHash);
      inFlight--;
    };
    const auth = await loadAuthState(dir, { logger, write: slowWrite });
    const saves: Promise<void>[] = [];
    for (const n of ["one", "two", "three", "four"]) {
      auth.state.creds.lastPropHash = n;
      saves.push(auth.saveCreds());
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(saves);
    expect(maxInFlight).toBe(1);
    expect(events.at(-1)).toBe("four");
    expect(JSON.parse(fs.readFileSync(path.join(dir, CREDS_FILE), "utf8")).lastPropHash).toBe("four");
  });

  it("restores a corrupt creds.json from the backup and says so", async () => {
    const first = await loadAuthState(dir, { logger });
    first.state.creds.me = { id: "4915123456789:3@s.whatsapp.net" };
    await first.saveCreds();
    await first.saveCreds(); // now creds.json.bak holds the linked account too
    fs.writeFileSync(path.join(dir, CREDS_FILE), '{"noiseKey": {"priv'); // torn by a crash or a full disk
    const second = await loadAuthState(dir, { logger });
    expect(second.restoredFromBackup).toBe(true);
    expect(second.state.creds.me?.id).toBe("4915123456789:3@s.whatsapp.net");
    expect(JSON.parse(fs.readFileSync(path.join(dir, CREDS_FILE), "utf8")).me.id).toBe(
      "4915123456789:3@s.whatsapp.net",
    );
    expect(modeOf(path.join(dir, CREDS_FILE))).toBe(0o600);
  });

  it("never writes the backup from a main file that is not valid JSON", async () => {
    const first = await loadAuthState(dir, { logger });
    first.state.creds.lastPropHash = "good";
    await first.saveCreds();
    await first.saveCreds();
    const goodBackup = fs.readFileSync(path.join(dir, CREDS_BACKUP_FILE), "utf8");
    expect(JSON.parse(goodBackup).lastPropHash).toBe("good");
    // The main file goes bad while running; the next save must keep the old backup.
    fs.writeFileSync(path.join(dir, CREDS_FILE), "garbage");
    first.state.creds.lastPropHash = "newer";
    await first.saveCreds();
    expect(fs.readFileSync(path.join(dir, CREDS_BACKUP_FILE), "utf8")).toBe(goodBackup);
    expect(JSON.parse(fs.readFileSync(path.join(dir, CREDS_FILE), "utf8")).lastPropHash).toBe("newer");
  });

  it("refuses to start from a corrupt creds.json without a valid backup, naming the file and the fix", async () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, CREDS_FILE), "{");
    fs.writeFileSync(path.join(dir, CREDS_BACKUP_FILE), "also broken");
    await expect(loadAuthState(dir, { logger })).rejects.toThrow(
      /creds\.json is corrupt.*medbot channels login whatsapp/,
    );
    expect(fs.readFileSync(path.join(dir, CREDS_FILE), "utf8")).toBe("{");
  });

  it("clear() forgets every credential and key", async () => {
    const auth = await loadAuthState(dir, { logger });
    await auth.saveCreds();
    await auth.saveCreds();
    await auth.state.keys.set({ "sender-key": { "g@g.us::1::0": new Uint8Array([1]) } });
    await auth.clear();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("names key files so that no id can leave the folder", () => {
    for (const id of [
      "../../etc/passwd",
      "a/b",
      "..",
      "x\\y",
      "\u0000",
      "sneaky\u202Efdp.exe",
      "z".repeat(500),
    ]) {
      const name = keyFileName("session", id);
      expect(name).not.toMatch(/[/\\\0]/);
      expect(path.basename(name)).toBe(name);
      expect(name.startsWith("session-")).toBe(true);
      expect(name.length).toBeLessThanOrEqual(255);
    }
    expect(keyFileName("session", "a/b")).not.toBe(keyFileName("session", "a%2Fb"));
  });
});
