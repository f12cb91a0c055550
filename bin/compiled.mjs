// The compiled form of medbot's sources: src/ and bridge/src/ are compiled once by esbuild into dist/<fingerprint>/ and run
// as plain JavaScript, so a long-running gateway carries no TypeScript loader (a loader thread costs some
// 30 MiB). The fingerprint covers every source file's path, size and modification time: an edited file
// gives a new folder. Folders are built beside their final name and renamed into place, so processes
// starting together never see half a build. Code medbot runs is writable by its user only: builds are written
// 0755/0644 whatever the umask, and a dist/ folder, build or file that another user (other than root, who
// builds a system service's dist/) owns or that others can write is never run (such a build is removed and
// made again; a dist/ of another user's is not used at all).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Compiled together, so relative imports between them (the gateway uses the bridge's protocol) hold. */
const SOURCES = ["src", "bridge/src"].map((folder) => path.join(ROOT, folder));
const DIST = path.join(ROOT, "dist");
/** Builds no longer current are removed once they are this old (a process may still be running one). */
const STALE_BUILD_MS = 60 * 60 * 1000;

/** Folders and files of a build: readable by all (the package is), writable by its owner only. */
const BUILD_DIR_MODE = 0o755;
const BUILD_FILE_MODE = 0o644;
/** Group and other write bits: code with either could be changed by someone else before it runs. */
const WRITABLE_BY_OTHERS = 0o022;

/** The file URL of `entry` (relative to the package) in an up-to-date build, or undefined if none can be made. */
export async function compiledEntry(entry) {
  try {
    const sources = SOURCES.flatMap(sourceFiles);
    if (!distIsOurs()) return undefined;
    const build = path.join(DIST, fingerprint(sources));
    if (fs.existsSync(build) && !buildIsOurs(build)) fs.rmSync(build, { recursive: true, force: true });
    if (!fs.existsSync(build)) await compile(sources, build);
    return pathToFileURL(path.join(build, entry.replace(/\.ts$/, ".js"))).href;
  } catch {
    return undefined;
  }
}

function sourceFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"))
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name))
    .sort();
}

function fingerprint(files) {
  const hash = createHash("sha256").update(process.version);
  for (const file of files) {
    const stat = fs.statSync(file);
    hash.update(`${path.relative(ROOT, file)}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  return hash.digest("hex").slice(0, 16);
}

/** dist/ is absent, ours or root's; writable by others, it is tightened (its builds are then checked one by one). */
function distIsOurs() {
  let stat;
  try {
    stat = fs.statSync(DIST);
  } catch {
    return true;
  }
  if (!stat.isDirectory() || !trustedOwner(stat.uid)) return false;
  if ((stat.mode & WRITABLE_BY_OTHERS) !== 0) fs.chmodSync(DIST, stat.mode & 0o755);
  return true;
}

/** Our own code, or root's (a system service runs the dist/ that root built when installing it). */
function trustedOwner(uid) {
  return uid === process.getuid?.() || uid === 0;
}

/** Every folder and file of `build` is ours (or root's), no link, and writable by nobody else. */
function buildIsOurs(build) {
  const pending = [build];
  while (pending.length > 0) {
    const current = pending.pop();
    const stat = fs.lstatSync(current);
    if (stat.isSymbolicLink() || !trustedOwner(stat.uid) || (stat.mode & WRITABLE_BY_OTHERS) !== 0)
      return false;
    if (stat.isDirectory())
      for (const name of fs.readdirSync(current)) pending.push(path.join(current, name));
  }
  return true;
}

/** Sets a fresh build's modes explicitly, so a umask of 000 cannot leave its code writable by others. */
function fixBuildModes(folder) {
  fs.chmodSync(folder, BUILD_DIR_MODE);
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) fixBuildModes(full);
    else fs.chmodSync(full, BUILD_FILE_MODE);
  }
}

async function compile(files, build) {
  const esbuild = await import("esbuild");
  if (!fs.existsSync(DIST)) {
    fs.mkdirSync(DIST, { recursive: true });
    fs.chmodSync(DIST, BUILD_DIR_MODE);
  }
  const temporary = `${build}.tmp-${process.pid}`;
  await esbuild.build({
    entryPoints: files,
    outdir: temporary,
    outbase: ROOT,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "linked",
    logLevel: "silent",
  });
  fixBuildModes(temporary);
  try {
    fs.renameSync(temporary, build);
  } catch {
    fs.rmSync(temporary, { recursive: true, force: true }); // another process finished the same build first
  }
  removeStaleBuilds(path.basename(build));
}

function removeStaleBuilds(current) {
  for (const name of fs.readdirSync(DIST)) {
    const folder = path.join(DIST, name);
    if (name === current || Date.now() - fs.statSync(folder).mtimeMs < STALE_BUILD_MS) continue;
    fs.rmSync(folder, { recursive: true, force: true });
  }
}
