// Doctor's location checks: the data folder stays out of git work trees and synced folders, and no API key
// of this deployment sits in a file git tracks.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import type { MedbotPaths } from "../config/paths.js";
import type { MedbotConfig } from "../config/schema.js";
import type { Finding } from "./doctor.js";
import { isInside } from "./doctor-files.js";

const run = promisify(execFile);

/** Files larger than this are not searched for keys (a key lives in config, scripts and .env files). */
const MAX_SCANNED_BYTES = 2 * 1024 * 1024;
const MAX_SCANNED_FILES = 20_000;
/** Configured values shorter than this are too common to search for. */
const MIN_SECRET_CHARS = 8;

/** Folder names that sync clients create; compared case-insensitively against each path component. */
const SYNCED_FOLDER_NAMES: readonly [RegExp, string][] = [
  [/^dropbox( \(.+\))?$/i, "Dropbox"],
  [/^onedrive( - .+)?$/i, "OneDrive"],
  [/^icloud ?drive$/i, "iCloud Drive"],
  [/^mobile documents$/i, "iCloud Drive"],
  [/^(google ?drive|googledrive-.+|my drive)$/i, "Google Drive"],
  [/^cloudstorage$/i, "a macOS cloud storage provider"],
];
/** Files or folders a sync client keeps at the top of the folder it syncs. */
const SYNC_MARKERS: readonly [RegExp, string][] = [
  [/^\.dropbox(\.cache)?$/, "Dropbox"],
  [/^\.st(folder|ignore)$/, "Syncthing"],
  [/^\.tmp\.drive(download|upload)$/, "Google Drive"],
  [/^\.?_?sync_[0-9a-f]+\.db$/, "Nextcloud/ownCloud"],
  [/^\.sync$/, "Resilio Sync"],
];

/** Strings shaped like API keys and tokens, whoever issued them. */
const KEY_SHAPES: readonly [RegExp, string][] = [
  [/\bsk-[A-Za-z0-9_-]{20,}/, "an API key (sk-...)"],
  [/\b\d{6,12}:[A-Za-z0-9_-]{35}\b/, "a Telegram bot token"],
  [/\bAIza[0-9A-Za-z_-]{35}\b/, "a Google API key"],
  [/\bgh[pousr]_[A-Za-z0-9]{36,}\b/, "a GitHub token"],
  [/\bxox[abpr]-[A-Za-z0-9-]{10,}/, "a Slack token"],
  [/\bAKIA[0-9A-Z]{16}\b/, "an AWS access key"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
];

/** location.git and location.sync: the data folder (or workspace) inside a git work tree or a synced folder. */
export function checkLocation(paths: MedbotPaths): Finding[] {
  const findings: Finding[] = [];
  for (const folder of dataFolders(paths)) {
    const repo = enclosingGitWorkTree(folder);
    if (repo) {
      findings.push({
        id: "location.git",
        severity: "high",
        what: `${folder} is inside the git work tree ${repo}.`,
        why: "One git add -A or a careless commit puts health records and keys into history, and a push sends them away for good.",
        fix: `Move the data folder out of ${repo} (e.g. to ~/.medbot; use --config or MEDBOT_HOME), or remove the repository.`,
        fixable: false,
        paths: [folder],
      });
    }
    const synced = syncedFolder(folder);
    if (synced) {
      findings.push({
        id: "location.sync",
        severity: "high",
        what: `${folder} is inside a folder synced by ${synced.service} (${synced.at}).`,
        why: "A sync client copies health records and keys to a cloud service and every linked device, outside medbot's control.",
        fix: "Move the data folder to a folder that is not synced (e.g. ~/.medbot), or exclude it from the sync client.",
        fixable: false,
        paths: [folder],
      });
    }
  }
  return findings;
}

/** secrets.git: a configured key or token, or a key-shaped string, in a file tracked by the enclosing repository. */
export async function checkTrackedSecrets(
  paths: MedbotPaths,
  config: MedbotConfig | undefined,
): Promise<Finding[]> {
  const repos = [...new Set(dataFolders(paths).map(enclosingGitWorkTree))].filter(
    (repo): repo is string => repo !== undefined,
  );
  const secrets = config ? configuredSecrets(config) : [];
  const findings: Finding[] = [];
  for (const repo of repos) {
    let tracked: string[];
    try {
      tracked = await trackedFiles(repo);
    } catch (error) {
      findings.push({
        id: "secrets.git",
        severity: "medium",
        what: `Could not list the files git tracks in ${repo}: ${firstLine(error)}.`,
        why: "Keys committed there could not be looked for.",
        fix: `Check by hand: git -C ${repo} grep -n -e sk- -e apiKey`,
        fixable: false,
        paths: [repo],
      });
      continue;
    }
    for (const file of tracked.slice(0, MAX_SCANNED_FILES)) {
      const text = readSmallText(path.join(repo, file));
      if (text === undefined) continue;
      const found = [
        ...secrets.filter((secret) => text.includes(secret.value)).map((secret) => secret.key),
        ...KEY_SHAPES.filter(([shape]) => shape.test(text)).map(([, name]) => name),
      ];
      if (found.length === 0) continue;
      findings.push({
        id: "secrets.git",
        severity: "high",
        what: `${path.join(repo, file)} is tracked by git and holds ${[...new Set(found)].join(", ")}.`,
        why: "Whoever gets the repository (a push, a backup, a shared laptop) gets the key and can spend on it or read the chats it opens.",
        fix: `Rotate the key, take it out of the file (use \${VAR} in config.json and set the variable), git rm --cached ${file}, and purge it from history (git filter-repo) if it was ever pushed.`,
        fixable: false,
        paths: [path.join(repo, file)],
      });
    }
  }
  return findings;
}

/** Every configured credential, by its config key (values are compared, never shown). */
export function configuredSecrets(config: MedbotConfig): { key: string; value: string }[] {
  const { telegram, whatsapp, email, feishu, qq } = config.channels;
  const candidates: [string, string | undefined][] = [
    ...Object.entries(config.providers).flatMap(([name, provider]): [string, string][] => [
      [`providers.${name}.apiKey`, provider.apiKey],
      ...Object.entries(provider.extraHeaders ?? {}).map(([header, value]): [string, string] => [
        `providers.${name}.extraHeaders.${header}`,
        value,
      ]),
    ]),
    ["channels.telegram.token", telegram.token],
    ["channels.whatsapp.bridgeToken", whatsapp.bridgeToken],
    ["channels.email.imapPassword", email.imapPassword],
    ["channels.email.smtpPassword", email.smtpPassword],
    ["channels.feishu.appSecret", feishu.appSecret],
    ["channels.feishu.encryptKey", feishu.encryptKey],
    ["channels.feishu.verificationToken", feishu.verificationToken],
    ["channels.qq.secret", qq.secret],
    ["tools.web.search.apiKey", config.tools.web.search.apiKey],
  ];
  return candidates
    .filter((entry): entry is [string, string] => (entry[1]?.length ?? 0) >= MIN_SECRET_CHARS)
    .map(([key, value]) => ({ key, value }));
}

/** The folders whose location matters: the data folder, and the workspace when it lives elsewhere. */
function dataFolders(paths: MedbotPaths): string[] {
  return isInside(paths.workspace, paths.home) ? [paths.home] : [paths.home, paths.workspace];
}

/** The nearest folder at or above `folder` holding .git (a folder, or a file for worktrees and submodules). */
export function enclosingGitWorkTree(folder: string): string | undefined {
  for (const dir of ancestors(folder)) {
    if (fs.existsSync(path.join(dir, ".git"))) return dir;
  }
  return undefined;
}

/** The sync service whose folder holds `folder`, by folder name or by the marker its client leaves. */
export function syncedFolder(folder: string): { service: string; at: string } | undefined {
  for (const dir of ancestors(folder)) {
    const name = path.basename(dir);
    const byName = SYNCED_FOLDER_NAMES.find(([pattern]) => pattern.test(name));
    if (byName) return { service: byName[1], at: dir };
    let entries: string[];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const marker = SYNC_MARKERS.find(([pattern]) => pattern.test(entry));
      if (marker) return { service: marker[1], at: path.join(dir, entry) };
    }
  }
  return undefined;
}

function ancestors(folder: string): string[] {
  const found: string[] = [];
  let dir = path.resolve(folder);
  for (;;) {
    found.push(dir);
    const parent = path.dirname(dir);
    if (parent === dir) return found;
    dir = parent;
  }
}

/** `git ls-files`, without a shell and without GIT_* variables that would point git elsewhere. */
async function trackedFiles(repo: string): Promise<string[]> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("GIT_")));
  const { stdout } = await run("git", ["-C", repo, "ls-files", "-z"], {
    env,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 30_000,
  });
  return stdout.split("\0").filter((file) => file !== "");
}

/** The file's text, or undefined when it is missing, large or binary. */
function readSmallText(file: string): string | undefined {
  try {
    const stat = fs.lstatSync(file);
    if (!stat.isFile() || stat.size > MAX_SCANNED_BYTES) return undefined;
    const data = fs.readFileSync(file);
    if (data.subarray(0, 8000).includes(0)) return undefined;
    return data.toString("utf8");
  } catch {
    return undefined;
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0] ?? message;
}
