// Creates an instance: config.json and the workspace, from workspace-template/. Keeps what the user edited.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { type JsonObject, type LoadedConfig, readRawConfig, resolveConfig } from "../config/load.js";
import { assertOwnFolders } from "../config/own-folders.js";
import type { MedbotPaths } from "../config/paths.js";
import { configSchema } from "../config/schema.js";
import { packagePath } from "../package-root.js";
import { openDatabase } from "../storage/db.js";
import { ensurePrivateDir, writePrivateFile } from "../storage/private-fs.js";

export const TEMPLATE_DIR = packagePath("workspace-template");
/** Where editors find the config's JSON Schema (a file:// URL, which they all follow). */
export const CONFIG_SCHEMA_URL = pathToFileURL(packagePath("config.schema.json")).href;

/** The agent's own memory: created from the template once, never reset (it is the user's data). */
const USER_DATA = new Set([path.join("memory", "MEMORY.md")]);

export interface ProviderChoice {
  provider?: string;
  apiKey?: string;
  apiBase?: string;
  model?: string;
}

export interface OnboardResult {
  configWritten: boolean;
  /** The instance's paths as every later command sees them (agents.defaults.workspace applied). */
  paths: MedbotPaths;
  created: string[];
  kept: string[];
}

/** The values onboard starts from: the existing file's, else nothing. */
export function currentChoice(paths: MedbotPaths): ProviderChoice {
  const raw = readRawConfig(paths.configFile) as LoadedConfig["config"] | undefined;
  const provider = raw?.agents?.defaults?.provider;
  const name = provider && provider !== "auto" ? provider : Object.keys(raw?.providers ?? {})[0];
  const settings = name ? raw?.providers?.[name] : undefined;
  return {
    provider: name,
    apiKey: settings?.apiKey || undefined,
    apiBase: settings?.apiBase || undefined,
    model: raw?.agents?.defaults?.model || undefined,
  };
}

/**
 * Writes config.json (existing values kept, the choice applied, defaults filled in) and copies missing
 * workspace files. With `force`, config and templates are reset; memory/MEMORY.md is kept.
 */
export function onboard(
  paths: MedbotPaths,
  choice: ProviderChoice,
  force: boolean,
  env: NodeJS.ProcessEnv = process.env,
): OnboardResult {
  const config = (force ? undefined : readRawConfig(paths.configFile)) ?? {};
  if (choice.provider) {
    const entry = objectAt(config, "providers", choice.provider);
    if (choice.apiKey !== undefined) entry.apiKey = choice.apiKey;
    if (choice.apiBase !== undefined) entry.apiBase = choice.apiBase;
    objectAt(config, "agents", "defaults").provider = choice.provider;
  }
  if (choice.model !== undefined) objectAt(config, "agents", "defaults").model = choice.model;
  // The WhatsApp bridge refuses every connection without it; made once, kept on later runs.
  const whatsapp = objectAt(config, "channels", "whatsapp");
  if (!whatsapp.bridgeToken) whatsapp.bridgeToken = randomBytes(32).toString("base64url");
  const raw: JsonObject = { ...config, $schema: CONFIG_SCHEMA_URL };
  // Checked as later commands will load it (${VAR}, MEDBOT_ overrides) before anything is written.
  const { paths: instance } = resolveConfig(structuredClone(raw), paths.configFile, env);
  assertOwnFolders(instance);
  // Defaults are filled in where the schema can judge the values as written; a ${VAR} it can judge only
  // once substituted (an apiBase) keeps the file as the user wrote it. Substituted values are never written.
  const filled = configSchema.safeParse(raw);
  writePrivateFile(paths.configFile, `${JSON.stringify(filled.success ? filled.data : raw, null, 2)}\n`);

  const created: string[] = [];
  const kept: string[] = [];
  ensurePrivateDir(instance.workspace);
  for (const relative of templateFiles(TEMPLATE_DIR)) {
    const target = path.join(instance.workspace, relative);
    const reset = force && !USER_DATA.has(relative);
    if (fs.existsSync(target) && !reset) {
      kept.push(relative);
      continue;
    }
    writePrivateFile(target, fs.readFileSync(path.join(TEMPLATE_DIR, relative)));
    created.push(relative);
  }
  ensurePrivateDir(path.join(instance.workspace, "skills"));
  openDatabase(instance.database, { auditSigningKey: instance.auditSigningKey }).close();
  return { configWritten: true, paths: instance, created, kept };
}

/** The object at `keys` under `root`, created where missing. */
function objectAt(root: JsonObject, ...keys: string[]): JsonObject {
  let cursor = root;
  for (const key of keys) {
    const next = cursor[key];
    if (next === null || typeof next !== "object" || Array.isArray(next)) cursor[key] = {};
    cursor = cursor[key] as JsonObject;
  }
  return cursor;
}

function templateFiles(dir: string, prefix = ""): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(prefix, entry.name);
    return entry.isDirectory() ? templateFiles(path.join(dir, entry.name), relative) : [relative];
  });
}
