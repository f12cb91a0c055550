// The WhatsApp session's keys, stored in one private folder: a lost or torn creds.json means linking the
// phone again, so every write is atomic and 0600, credential saves run one at a time in order, and the
// last good creds.json is kept as creds.json.bak to recover from a corrupt main file.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  type AuthenticationCreds,
  type AuthenticationState,
  BufferJSON,
  initAuthCreds,
  proto,
  type SignalDataSet,
  type SignalDataTypeMap,
} from "@whiskeysockets/baileys";
import type { Logger } from "../../src/log.js";
import { ensurePrivateDir, tightenModes, writePrivateFile } from "../../src/storage/private-fs.js";

export const CREDS_FILE = "creds.json";
export const CREDS_BACKUP_FILE = "creds.json.bak";

/** Writes one whole file; the default is the project's atomic 0600 writer. Tests inject a slow one. */
export type AuthFileWriter = (file: string, data: string) => void | Promise<void>;

export interface AuthStateOptions {
  logger: Logger;
  write?: AuthFileWriter;
}

/** A loaded auth folder: the state baileys wants, plus how to persist and forget it. */
export interface StoredAuthState {
  state: AuthenticationState;
  /** Persists the current creds (baileys mutates `state.creds` in place); saves run one at a time. */
  saveCreds(): Promise<void>;
  /** Deletes every credential and key file (after WhatsApp logged this device out). */
  clear(): Promise<void>;
  /** True when creds.json was corrupt and was restored from creds.json.bak while loading. */
  restoredFromBackup: boolean;
}

/** Loads (or starts) the auth state kept in `dir`, restoring a corrupt creds.json from its backup. */
export async function loadAuthState(dir: string, options: AuthStateOptions): Promise<StoredAuthState> {
  const folder = path.resolve(dir);
  if (fs.existsSync(folder) && !fs.statSync(folder).isDirectory()) {
    throw new Error(
      `WhatsApp auth folder ${folder} is not a folder; move it away or set MEDBOT_BRIDGE_AUTH_DIR`,
    );
  }
  ensurePrivateDir(folder);
  // An auth folder made by another tool may be group-readable; it holds the account's private keys.
  tightenModes([folder, ...fs.readdirSync(folder).map((name) => path.join(folder, name))]);

  const { logger } = options;
  const write = options.write ?? writePrivateFile;
  const credsFile = path.join(folder, CREDS_FILE);
  const backupFile = path.join(folder, CREDS_BACKUP_FILE);

  let restoredFromBackup = false;
  let creds: AuthenticationCreds;
  const main = readText(credsFile);
  if (main === undefined) {
    creds = initAuthCreds();
  } else if (isJsonObject(main)) {
    creds = JSON.parse(main, BufferJSON.reviver) as AuthenticationCreds;
  } else {
    const backup = readText(backupFile);
    if (backup === undefined || !isJsonObject(backup)) {
      throw new Error(
        `${credsFile} is corrupt and ${CREDS_BACKUP_FILE} has no valid copy; delete ${folder} and run \`medbot channels login whatsapp\` to link the phone again`,
      );
    }
    await write(credsFile, backup);
    creds = JSON.parse(backup, BufferJSON.reviver) as AuthenticationCreds;
    restoredFromBackup = true;
    logger.warn({ file: credsFile }, "whatsapp creds.json was corrupt; restored it from creds.json.bak");
  }

  // One queue for every write, so a creds save never overtakes an earlier one and never tears a backup.
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (task: () => void | Promise<void>): Promise<void> => {
    const run = queue.then(task);
    queue = run.catch(() => {});
    return run;
  };

  const saveCreds = () =>
    enqueue(async () => {
      const current = readText(credsFile);
      // Back up only a main file that parses: a corrupt one must never overwrite the last good backup.
      if (current !== undefined && isJsonObject(current)) await write(backupFile, current);
      await write(credsFile, JSON.stringify(creds, BufferJSON.replacer));
    });

  const keys = {
    get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => {
      const found: { [id: string]: SignalDataTypeMap[T] } = {};
      for (const id of ids) {
        const file = path.join(folder, keyFileName(type, id));
        const text = readText(file);
        if (text === undefined) continue;
        const value = parseJson(text, BufferJSON.reviver);
        if (value === undefined) {
          logger.warn({ file }, "whatsapp key file is corrupt; ignoring it");
          continue;
        }
        found[id] = (
          type === "app-state-sync-key"
            ? proto.Message.AppStateSyncKeyData.fromObject(value as object)
            : value
        ) as SignalDataTypeMap[T];
      }
      return found;
    },
    set: (data: SignalDataSet) =>
      enqueue(async () => {
        for (const [type, entries] of Object.entries(data)) {
          for (const [id, value] of Object.entries(entries ?? {})) {
            const file = path.join(folder, keyFileName(type, id));
            if (value) await write(file, JSON.stringify(value, BufferJSON.replacer));
            else fs.rmSync(file, { force: true });
          }
        }
      }),
  };

  const clear = () =>
    enqueue(() => {
      for (const name of fs.readdirSync(folder)) {
        if (name.endsWith(".json") || name === CREDS_BACKUP_FILE)
          fs.rmSync(path.join(folder, name), { force: true });
      }
    });

  return { state: { creds, keys }, saveCreds, clear, restoredFromBackup };
}

/**
 * The file name of one signal key: ids come from the network (jids, "a::b::1"), so everything outside a
 * small safe set is %-escaped and over-long names are hashed; no name can hold a separator or escape.
 */
export function keyFileName(type: string, id: string): string {
  const escaped = `${type}-${id}`.replace(
    /[^A-Za-z0-9@._-]/gu,
    (c) =>
      `%${Array.from(Buffer.from(c, "utf8"))
        .map((b) => b.toString(16).padStart(2, "0"))
        .join("%")}`,
  );
  const name = escaped.length <= 200 ? escaped : `${type}-${createHash("sha256").update(id).digest("hex")}`;
  return `${name}.json`;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function isJsonObject(text: string): boolean {
  const value = parseJson(text);
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(text: string, reviver?: (key: string, value: unknown) => unknown): unknown {
  try {
    return JSON.parse(text, reviver);
  } catch {
    return undefined;
  }
}
