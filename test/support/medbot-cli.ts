// Runs the real `medbot` command as a child process against a throwaway data folder.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const MEDBOT_BIN = fileURLToPath(new URL("../../bin/medbot.mjs", import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  home?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  /** Run under this umask (e.g. "000"), through sh. */
  umask?: string;
  /** Leave out MEDBOT_ALLOW_ROOT=1 (to test the root refusal). */
  noRootOverride?: boolean;
}

/** The environment without any MEDBOT_ variables of the developer's own. */
function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k, v]) => !k.startsWith("MEDBOT_") && v !== undefined),
  ) as Record<string, string>;
}

/** Runs `medbot ...args` and collects its output. */
export function runMedbot(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const env: Record<string, string | undefined> = {
    ...cleanEnv(),
    ...(options.home ? { MEDBOT_HOME: options.home } : {}),
    ...(options.noRootOverride ? {} : { MEDBOT_ALLOW_ROOT: "1" }),
    ...options.env,
  };
  const command = options.umask ? "/bin/sh" : process.execPath;
  const argv = options.umask
    ? ["-c", `umask ${options.umask} && exec "$0" "$@"`, process.execPath, MEDBOT_BIN, ...args]
    : [MEDBOT_BIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { env: env as NodeJS.ProcessEnv, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

/** A fresh data folder that is removed after the test file (call the returned cleanup in afterAll). */
export function tempHome(prefix = "medbot-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes a config.json into `home` (creating it) with mode 0600. */
export function writeConfig(home: string, config: unknown): string {
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const file = path.join(home, "config.json");
  fs.writeFileSync(file, typeof config === "string" ? config : JSON.stringify(config, null, 2), {
    mode: 0o600,
  });
  return file;
}

/** A config that points the agent at a fake provider. */
export function fakeProviderConfig(
  apiBase: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    providers: { custom: { apiKey: "test-key", apiBase } },
    agents: { defaults: { provider: "custom", model: "fake-model" } },
    ...extra,
  };
}

/** One path under a folder walked by `modesUnder`: relative path, kind and permission bits ("0600"). */
export interface PathMode {
  path: string;
  kind: "folder" | "file" | "other";
  mode: string;
}

/** Every folder and file under `root` (itself as "."), symlinks not followed. */
export function modesUnder(root: string): PathMode[] {
  const found: PathMode[] = [];
  const visit = (full: string): void => {
    const stat = fs.lstatSync(full);
    const kind = stat.isDirectory() ? "folder" : stat.isFile() ? "file" : "other";
    const mode = `0${(stat.mode & 0o777).toString(8).padStart(3, "0")}`;
    found.push({ path: path.relative(root, full) || ".", kind, mode });
    if (kind === "folder") for (const name of fs.readdirSync(full).sort()) visit(path.join(full, name));
  };
  visit(root);
  return found;
}

/** The paths under `root` that are not private: folders other than 0700, files other than 0600, links. */
export function notPrivateUnder(root: string): PathMode[] {
  return modesUnder(root).filter(
    (p) => p.kind === "other" || p.mode !== (p.kind === "folder" ? "0700" : "0600"),
  );
}
