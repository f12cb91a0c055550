// Reads config.json: ${VAR} substitution, MEDBOT_ env overrides, strict validation. Never falls back silently.
import * as fs from "node:fs";
import type { z } from "zod";
import { type MedbotPaths, resolvePaths } from "./paths.js";
import { configSchema, type MedbotConfig } from "./schema.js";

/** A config that cannot be used: which file, where in it, and why. The CLI exits 2 on it. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly { where: string; reason: string }[],
  ) {
    super(
      `Config error in ${file}:\n${problems.map((p) => `  - ${p.where}: ${p.reason}`).join("\n")}\n` +
        "Fix the file (or the environment variable named) and try again; medbot does not fall back to defaults.",
    );
    this.name = "ConfigError";
  }
}

export interface LoadedConfig {
  config: MedbotConfig;
  paths: MedbotPaths;
  /** False when config.json does not exist yet (medbot onboard creates it). */
  exists: boolean;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Loads and validates the config of one instance; throws ConfigError naming the file and key. */
export function loadConfig(options: { configPath?: string } = {}, env = process.env): LoadedConfig {
  const base = resolvePaths(options, env);
  const raw = readRawConfig(base.configFile) ?? {};
  const file = base.configFile;
  substituteVariables(raw, [], file, env);
  const fromFile = validateConfig(raw, file);
  const fromEnv = applyEnvOverrides(raw, fromFile, file, env);
  const config = fromEnv.size > 0 ? validateConfig(raw, file, fromEnv) : fromFile;
  const paths = resolvePaths({ ...options, workspace: config.agents.defaults.workspace }, env);
  return { config, paths, exists: fs.existsSync(file) };
}

/** The file's JSON as written (no defaults, no env), or undefined if there is no file. */
export function readRawConfig(file: string): JsonObject | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(file, [{ where: "file", reason: (error as Error).message }]);
  }
  let parsed: Json;
  try {
    parsed = JSON.parse(text) as Json;
  } catch (error) {
    const { line, column } = jsonErrorLocation(text, error as Error);
    throw new ConfigError(file, [
      { where: `line ${line}, column ${column}`, reason: `invalid JSON (${(error as Error).message})` },
    ]);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(file, [{ where: "(top level)", reason: "must be a JSON object" }]);
  }
  return parsed;
}

/** Line and column (1-based) of a JSON.parse error, from the position V8 reports. */
export function jsonErrorLocation(text: string, error: Error): { line: number; column: number } {
  const match = /position (\d+)/.exec(error.message);
  const offset = match ? Number(match[1]) : text.length;
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

/** Validates raw config JSON; throws ConfigError naming each bad key (and the env variable that set it). */
export function validateConfig(
  raw: JsonObject,
  file: string,
  envSources = new Map<string, string>(),
): MedbotConfig {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(
    file,
    result.error.issues.slice(0, 20).map((issue) => describeIssue(issue, envSources)),
  );
}

function describeIssue(
  issue: z.core.$ZodIssue,
  envSources: Map<string, string>,
): { where: string; reason: string } {
  const where = issue.path.map(String).join(".") || "(top level)";
  const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
  const fullWhere = keys.length === 1 ? (where === "(top level)" ? keys[0]! : `${where}.${keys[0]}`) : where;
  const reason =
    issue.code === "unrecognized_keys"
      ? `unknown key${keys.length > 1 ? `s ${keys.join(", ")}` : ""}`
      : issue.message;
  const envName = [...envSources].find(([p]) => fullWhere === p || fullWhere.startsWith(`${p}.`))?.[1];
  return { where: envName ? `${fullWhere} (from ${envName})` : fullWhere, reason };
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces ${VAR} in every string value; a variable that is not set is an error. */
function substituteVariables(node: Json, at: string[], file: string, env: NodeJS.ProcessEnv): Json {
  if (typeof node === "string") {
    return node.replace(VARIABLE, (_, name: string) => {
      const value = env[name];
      if (value === undefined) {
        throw new ConfigError(file, [
          { where: at.join(".") || "(top level)", reason: `\${${name}} is used but ${name} is not set` },
        ]);
      }
      return value;
    });
  }
  if (Array.isArray(node)) {
    node.forEach((item, i) => {
      node[i] = substituteVariables(item, [...at, String(i)], file, env);
    });
  } else if (node !== null && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      node[key] = substituteVariables(value, [...at, key], file, env);
    }
  }
  return node;
}

/**
 * MEDBOT_A__B_C=v sets a.bC. The value is JSON where the key holds a non-string (true, 8080, ["1"]),
 * a plain string otherwise. Returns key path -> variable name, to name the variable in errors.
 */
function applyEnvOverrides(raw: JsonObject, typed: MedbotConfig, file: string, env: NodeJS.ProcessEnv) {
  const sources = new Map<string, string>();
  const names = Object.keys(env)
    .filter((name) => name.startsWith("MEDBOT_") && name.includes("__"))
    .sort();
  for (const name of names) {
    const keys = name.slice("MEDBOT_".length).split("__").map(snakeToCamel);
    if (keys.some((key) => key === "")) {
      throw new ConfigError(file, [
        { where: name, reason: "empty key segment in environment variable name" },
      ]);
    }
    const text = env[name] ?? "";
    const current = valueAt(typed as unknown as Json, keys);
    let value: Json = text;
    if (current !== undefined && current !== null && typeof current !== "string") {
      try {
        value = JSON.parse(text) as Json;
      } catch {
        throw new ConfigError(file, [
          { where: name, reason: `expected JSON (like ${JSON.stringify(current)})` },
        ]);
      }
    }
    setValueAt(raw, keys, value, file, name);
    sources.set(keys.join("."), name);
  }
  return sources;
}

function snakeToCamel(segment: string): string {
  return segment.toLowerCase().replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function valueAt(node: Json, keys: string[]): Json | undefined {
  let cursor: Json | undefined = node;
  for (const key of keys) {
    if (cursor === null || typeof cursor !== "object" || Array.isArray(cursor)) return undefined;
    cursor = cursor[key];
  }
  return cursor;
}

function setValueAt(root: JsonObject, keys: string[], value: Json, file: string, name: string): void {
  let cursor: JsonObject = root;
  for (const key of keys.slice(0, -1)) {
    const next: Json | undefined = cursor[key];
    if (next === undefined || next === null) {
      const created: JsonObject = {};
      cursor[key] = created;
      cursor = created;
    } else if (typeof next === "object" && !Array.isArray(next)) {
      cursor = next;
    } else {
      throw new ConfigError(file, [{ where: name, reason: `${key} is not an object in the config` }]);
    }
  }
  cursor[keys.at(-1)!] = value;
}
