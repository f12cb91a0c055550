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
  const file = resolvePaths(options, env).configFile;
  const raw = readRawConfig(file);
  return { ...resolveConfig(raw ?? {}, file, env), exists: raw !== undefined };
}

/**
 * Turns config JSON (as in `file`, which it does not read) into the config and paths medbot runs with:
 * ${VAR} substituted, MEDBOT_ overrides applied, validated. Changes `raw` in place.
 */
export function resolveConfig(
  raw: JsonObject,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Omit<LoadedConfig, "exists"> {
  substituteVariables(raw, [], file, env);
  const fromFile = validateConfig(raw, file);
  const fromEnv = applyEnvOverrides(raw, fromFile, file, env);
  const config = fromEnv.size > 0 ? validateConfig(raw, file, fromEnv) : fromFile;
  const paths = resolvePaths(
    { configPath: file, workspace: config.agents.defaults.workspace, signAuditHead: config.audit.signHead },
    env,
  );
  return { config, paths };
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
  // Editors on Windows may save a byte-order mark, which JSON.parse rejects.
  const json = text.replace(/^\uFEFF/, "");
  let parsed: Json;
  try {
    parsed = JSON.parse(json) as Json;
  } catch {
    const { line, column, reason } = describeJsonError(json);
    throw new ConfigError(file, [
      { where: `line ${line}, column ${column}`, reason: `invalid JSON: ${reason}` },
    ]);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(file, [{ where: "(top level)", reason: "must be a JSON object" }]);
  }
  return parsed;
}

/**
 * Where and why `text` is not JSON, line and column 1-based. V8's message gives no position for some
 * errors ("Unexpected token"), so a small scanner finds the first character JSON cannot accept.
 */
export function describeJsonError(text: string): { line: number; column: number; reason: string } {
  let offset = firstJsonErrorOffset(text) ?? text.length;
  let reason: string;
  const previous = text.slice(0, offset).trimEnd();
  if (text.trim() === "") {
    reason = "the file is empty (write {} into it, or delete it and run medbot onboard)";
  } else if (offset >= text.length) {
    reason = "the file ends before the JSON does (a missing } or ] or quote?)";
  } else if ("}]".includes(text[offset]!) && previous.endsWith(",")) {
    offset = previous.length - 1;
    reason = "a comma before the closing bracket (JSON allows no trailing comma; remove it)";
  } else if (text[offset] === "/") {
    reason = "a comment (JSON allows no comments; remove it)";
  } else {
    reason = `unexpected ${JSON.stringify(String.fromCodePoint(text.codePointAt(offset)!))}`;
  }
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1, reason };
}

/** Offset of the first character that makes `text` invalid JSON (RFC 8259), or undefined if it is valid. */
function firstJsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const stop = Symbol("stop");
  const expect = (ok: boolean): void => {
    if (!ok) throw stop;
  };
  const skipSpace = (): void => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const string = (): void => {
    expect(text[i] === '"');
    i++;
    for (;;) {
      expect(i < text.length && text.charCodeAt(i) >= 0x20);
      const ch = text[i++];
      if (ch === '"') return;
      if (ch !== "\\") continue;
      if (text[i] === "u") {
        i++;
        for (let k = 0; k < 4; k++, i++) expect(/^[0-9a-fA-F]$/.test(text[i] ?? ""));
      } else {
        expect(i < text.length && '"\\/bfnrt'.includes(text[i]!));
        i++;
      }
    }
  };
  const number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): void => {
    skipSpace();
    const ch = text[i];
    if (ch === "{" || ch === "[") {
      const close = ch === "{" ? "}" : "]";
      i++;
      skipSpace();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (close === "}") {
          skipSpace();
          string();
          skipSpace();
          expect(text[i] === ":");
          i++;
        }
        value();
        skipSpace();
        if (text[i] === ",") {
          i++;
          continue;
        }
        expect(text[i] === close);
        i++;
        return;
      }
    }
    if (ch === '"') {
      string();
      return;
    }
    for (const word of ["true", "false", "null"]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    number.lastIndex = i;
    expect(number.test(text));
    i = number.lastIndex;
  };
  try {
    value();
    skipSpace();
    expect(i === text.length);
    return undefined;
  } catch (error) {
    if (error !== stop) throw error;
    return i;
  }
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
    result.error.issues.slice(0, 20).flatMap((issue) => describeIssue(issue, envSources)),
  );
}

/** One problem per bad key; an unknown key is named in full, so the env variable that set it can be. */
function describeIssue(
  issue: z.core.$ZodIssue,
  envSources: Map<string, string>,
): { where: string; reason: string }[] {
  const at = issue.path.map(String);
  const problems =
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ where: [...at, key].join("."), reason: "unknown key" }))
      : [{ where: at.join(".") || "(top level)", reason: issueReason(issue) }];
  return problems.map(({ where, reason }) => {
    const envName = [...envSources].find(([p]) => where === p || where.startsWith(`${p}.`))?.[1];
    return { where: envName ? `${where} (from ${envName})` : where, reason };
  });
}

/** zod's message, or for a bad record key (a provider name) the message of the key's own check. */
function issueReason(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_key") return issue.issues[0]?.message ?? issue.message;
  return issue.message;
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
          {
            where: `${keys.join(".")} (from ${name})`,
            reason: `expected JSON (like ${JSON.stringify(current)})`,
          },
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
