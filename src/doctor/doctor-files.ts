// Doctor's file checks: the data folder and everything under it is the user's own, folders 0700, files 0600.
import * as path from "node:path";
import { whyNotOwnFolder } from "../config/own-folders.js";
import type { MedbotPaths } from "../config/paths.js";
import { creationMarker, DatabaseDamagedError, refuseEmptiedDatabase } from "../storage/db-marker.js";
import { formatMode, type TightenedPath, tightenModes } from "../storage/private-fs.js";
import type { Finding } from "./doctor.js";
import { walkEntries } from "./doctor-walk.js";

/** Paths listed in one finding before "and N more". */
const SHOWN_PATHS = 5;

interface Entry {
  path: string;
  mode: number;
  uid: number;
  /** The part of the data folder it belongs to ("workspace", "logs", "config.json", "." for the folder). */
  area: string;
}

/** perms.mode and perms.owner: anything under the data folder or workspace others can read, or not ours. */
export function checkFileModes(paths: MedbotPaths, uid: number | undefined): Finding[] {
  const entries = privateEntries(paths);
  const loose = entries.filter((entry) => (entry.mode & 0o077) !== 0);
  const foreign = uid === undefined ? [] : entries.filter((entry) => entry.uid !== uid);
  return [
    ...foreignRoots(paths, uid).map(({ folder, reason }) => ({
      id: "perms.folder",
      severity: "high" as const,
      what: `${reason}: medbot refuses to run with it as its data folder or workspace, and doctor did not check or change anything in it.`,
      why: "medbot makes its folders private (0700); doing that to a system, home, shared or another user's folder would break it for everyone else, and health data there is not private.",
      fix: "Point the data folder (MEDBOT_HOME or --config) or agents.defaults.workspace at a folder of medbot's own, such as the defaults ~/.medbot and ~/.medbot/workspace.",
      fixable: false,
      paths: [folder],
    })),
    ...byArea(loose).map(([area, group]) => ({
      id: "perms.mode",
      severity: "high" as const,
      what:
        group.length === 1
          ? `${group[0]?.path} is ${formatMode(group[0]?.mode ?? 0)}: open to other users.`
          : `${describeArea(area, paths)}: ${group.length} paths open to other users: ${listPaths(group, (e) => `${e.path} (${formatMode(e.mode)})`)}.`,
      why: "These files hold the family's health records, chats and credentials; any other account on this machine (or a compromised service) could read them.",
      fix: "Make folders 0700 and files 0600 (chmod go-rwx).",
      fixable: group.every((entry) => uid === undefined || entry.uid === uid),
      paths: group.map((entry) => entry.path),
    })),
    ...byArea(foreign).map(([area, group]) => ({
      id: "perms.owner",
      severity: "high" as const,
      what: `${describeArea(area, paths)}: ${group.length} ${group.length === 1 ? "path" : "paths"} not owned by the user running medbot (uid ${uid}): ${listPaths(group, (e) => `${e.path} (uid ${e.uid})`)}.`,
      why: "Another account that owns medbot's files can change their permissions or contents, including the config that decides who may talk to medbot.",
      fix: `As root: chown -R <medbot user> ${paths.home} (and the workspace if it lives elsewhere).`,
      fixable: false,
      paths: group.map((entry) => entry.path),
    })),
  ];
}

/** storage.database: medbot.db emptied (0 bytes) where a database was; every command refuses to open it. */
export function checkDatabaseIntact(paths: Pick<MedbotPaths, "database">): Finding[] {
  try {
    refuseEmptiedDatabase(paths.database);
    return [];
  } catch (error) {
    if (!(error instanceof DatabaseDamagedError)) throw error;
    return [
      {
        id: "storage.database",
        severity: "high",
        what: `${paths.database} is empty (0 bytes), but a database was created there before (${creationMarker(paths.database)}).`,
        why: "The family's archive and audit log are gone from that file; medbot and the gateway refuse to start over it rather than begin an empty archive unnoticed.",
        fix: `Stop the gateway and restore medbot.db from a backup; to really start with an empty archive, delete both ${paths.database} and ${creationMarker(paths.database)}.`,
        fixable: false,
        paths: [paths.database],
      },
    ];
  }
}

/** Tightens every path under the data folder that others can reach (only the user's own); returns the changes. */
export function fixFileModes(paths: MedbotPaths, uid: number | undefined): TightenedPath[] {
  const changed: TightenedPath[] = [];
  for (const entry of privateEntries(paths)) {
    if ((entry.mode & 0o077) === 0 || (uid !== undefined && entry.uid !== uid)) continue;
    try {
      changed.push(...tightenModes([entry.path]));
    } catch {
      // Left as it was; the next check reports it again.
    }
  }
  return changed;
}

/** Every folder and file under the data folder and the workspace; symlinks are neither followed nor judged. */
function privateEntries(paths: MedbotPaths): Entry[] {
  const refused = new Set(foreignRoots(paths).map((root) => root.folder));
  const roots = [paths.home];
  if (!isInside(paths.workspace, paths.home)) roots.push(paths.workspace);
  return walkEntries(roots, (file) => refused.has(file)).map((entry) => ({
    ...entry,
    area: areaOf(entry.path, paths),
  }));
}

/** The data folder and workspace when they are not medbot's own (system, home, shared, another user's). */
function foreignRoots(paths: MedbotPaths, uid = process.getuid?.()): { folder: string; reason: string }[] {
  return [paths.home, paths.workspace].flatMap((folder) => {
    const reason = whyNotOwnFolder(folder, uid);
    return reason ? [{ folder, reason }] : [];
  });
}

function areaOf(file: string, paths: MedbotPaths): string {
  if (isInside(file, paths.workspace)) return "workspace";
  const relative = path.relative(paths.home, file);
  return relative === "" ? "." : (relative.split(path.sep)[0] ?? ".");
}

function describeArea(area: string, paths: MedbotPaths): string {
  if (area === ".") return `the data folder ${paths.home}`;
  if (area === "workspace") return `the workspace ${paths.workspace}`;
  return path.join(paths.home, area);
}

function byArea(entries: readonly Entry[]): [string, Entry[]][] {
  const groups = new Map<string, Entry[]>();
  for (const entry of entries) groups.set(entry.area, [...(groups.get(entry.area) ?? []), entry]);
  return [...groups];
}

function listPaths(entries: readonly Entry[], show: (entry: Entry) => string): string {
  const shown = entries.slice(0, SHOWN_PATHS).map(show).join(", ");
  return entries.length > SHOWN_PATHS ? `${shown} and ${entries.length - SHOWN_PATHS} more` : shown;
}

/** True when `file` is `folder` or inside it. */
export function isInside(file: string, folder: string): boolean {
  const relative = path.relative(folder, file);
  return (
    relative === "" ||
    (relative !== ".." && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative))
  );
}
