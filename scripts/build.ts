// `npm run build` (also run by `prepare` and `prepack`): compiles src/ and bridge/src/ once with esbuild into
// dist/, the only code bin/medbot.mjs and bin/whatsapp-bridge.mjs run. They are compiled together so the
// relative imports between them hold. The build is made beside dist/ and swapped in whole, its modes set
// 0755/0644 whatever the umask (code nobody but its owner can change), and it records a fingerprint of the
// sources so the test set-up (test/support/build-once.ts) rebuilds only when a source changed.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

/** The repository this script belongs to. */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Compiled together: the gateway uses the bridge's protocol and the bridge uses medbot's helpers. */
const SOURCE_FOLDERS = ["src", "bridge/src"];
/** Inside dist/: the fingerprint of the sources it was built from. */
const FINGERPRINT_FILE = "build-fingerprint.txt";
const BUILD_DIR_MODE = 0o755;
const BUILD_FILE_MODE = 0o644;

/** Every TypeScript source file that goes into dist/, sorted. */
function sourceFiles(root: string): string[] {
  return SOURCE_FOLDERS.flatMap((folder) => {
    const dir = path.join(root, folder);
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"))
      .map((entry) => path.join(entry.parentPath, entry.name));
  }).sort();
}

/** Each source's path, size and modification time, and this script's own text (its esbuild settings). */
function fingerprint(root: string, files: readonly string[]): string {
  const hash = createHash("sha256").update(fs.readFileSync(fileURLToPath(import.meta.url)));
  for (const file of files) {
    const stat = fs.statSync(file);
    hash.update(`${path.relative(root, file)}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  return hash.digest("hex").slice(0, 16);
}

/** Whether `root`/dist/ was built from the sources as they are now. */
export function buildIsCurrent(root = REPO_ROOT): boolean {
  try {
    const recorded = fs.readFileSync(path.join(root, "dist", FINGERPRINT_FILE), "utf8").trim();
    return recorded === fingerprint(root, sourceFiles(root));
  } catch {
    return false;
  }
}

/** Sets every folder 0755 and file 0644, so a umask of 000 cannot leave the code writable by others. */
function fixModes(folder: string): void {
  fs.chmodSync(folder, BUILD_DIR_MODE);
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) fixModes(full);
    else fs.chmodSync(full, BUILD_FILE_MODE);
  }
}

/** Compiles `root`'s sources into `root`/dist/, replacing any earlier build whole. */
export async function build(root = REPO_ROOT): Promise<void> {
  const files = sourceFiles(root);
  if (files.length === 0) throw new Error(`medbot build: no TypeScript sources under ${root}`);
  const target = path.join(root, "dist");
  const fresh = `${target}.new-${process.pid}`;
  const old = `${target}.old-${process.pid}`;
  fs.rmSync(fresh, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: files,
    outdir: fresh,
    outbase: root,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "warning",
  });
  fs.writeFileSync(path.join(fresh, FINGERPRINT_FILE), `${fingerprint(root, files)}\n`);
  fixModes(fresh);
  if (fs.existsSync(target)) fs.renameSync(target, old);
  fs.renameSync(fresh, target);
  fs.rmSync(old, { recursive: true, force: true });
}

/** Builds only when dist/ is missing or older than the sources (the test set-up and the benchmarks). */
export async function ensureBuilt(root = REPO_ROOT): Promise<void> {
  if (!buildIsCurrent(root)) await build(root);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = process.argv[2] ? path.resolve(process.argv[2]) : REPO_ROOT;
  await build(root);
  process.stdout.write(`medbot: built ${path.join(root, "dist")}\n`);
}
