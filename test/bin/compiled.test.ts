// The code medbot runs is built once (`npm run build`) and writable by its owner only: dist/ is built
// 0755/0644 whatever the umask, the launchers run only that build (no compiling at start, no tsx), a missing
// build is a clear error, and a build that another user owns or can write is refused rather than run. Each
// test builds and runs a copy of the package, so the worktree's own dist/ is never touched.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { buildIsCurrent, ensureBuilt } from "../../scripts/build.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const PACKAGE_PARTS = [
  "package.json",
  "bin",
  "src",
  "bridge",
  "skills",
  "workspace-template",
  "config.schema.json",
];
const isRoot = process.getuid?.() === 0;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-compiled-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A copy of the package (its node_modules linked), without a dist/. */
function packageCopy(name: string): string {
  const root = path.join(scratch, name);
  fs.mkdirSync(root);
  for (const part of PACKAGE_PARTS)
    fs.cpSync(path.join(REPO, part), path.join(root, part), { recursive: true });
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(root, "node_modules"));
  return root;
}

/** `npm run build` for the copy (scripts/build.ts through tsx), under umask 000. */
function buildUnderOpenUmask(root: string): void {
  execFileSync(
    "/bin/sh",
    ["-c", 'umask 000 && exec "$0" "$@"', process.execPath, "--import", "tsx", "scripts/build.ts", root],
    { cwd: REPO, encoding: "utf8" },
  );
}

/** A launcher of the copy (`medbot --version` by default) under umask 000. */
function runUnderOpenUmask(root: string, launcher = "medbot.mjs", args = ["--version"]) {
  const result = spawnSync(
    "/bin/sh",
    ["-c", 'umask 000 && exec "$0" "$@"', process.execPath, path.join(root, "bin", launcher), ...args],
    { encoding: "utf8", env: { ...process.env, MEDBOT_ALLOW_ROOT: "1" }, timeout: 30_000 },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every folder and file under `root`: path, mode and owner. */
function entriesUnder(root: string): { path: string; mode: number; uid: number; folder: boolean }[] {
  return fs.readdirSync(root, { recursive: true, encoding: "utf8" }).map((relative) => {
    const stat = fs.lstatSync(path.join(root, relative));
    return { path: relative, mode: stat.mode & 0o777, uid: stat.uid, folder: stat.isDirectory() };
  });
}

/** The built CLI entry. */
function builtMain(root: string): string {
  return path.join(root, "dist", "src", "cli", "main.js");
}

/** Puts a line at the top of the built CLI that announces itself if it ever runs. */
function plant(file: string): void {
  fs.writeFileSync(file, `process.stdout.write("planted code ran\\n");\n${fs.readFileSync(file, "utf8")}`);
}

describe("the build (dist/)", () => {
  it("under umask 000 is 0755 folders and 0644 files: nothing in it is writable by group or others", () => {
    const root = packageCopy("fresh");
    buildUnderOpenUmask(root);
    const entries = entriesUnder(path.join(root, "dist"));
    expect(entries.length).toBeGreaterThan(100);
    expect(entries.filter((e) => e.mode !== (e.folder ? 0o755 : 0o644))).toEqual([]);
    expect(fs.statSync(path.join(root, "dist")).mode & 0o777).toBe(0o755);
    const run = runUnderOpenUmask(root);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    // Running compiles nothing and writes nothing into the package.
    expect(entriesUnder(path.join(root, "dist"))).toEqual(entries);
  });

  it("missing: both launchers stop with a message saying to run `npm run build`, and build nothing", () => {
    const root = packageCopy("unbuilt");
    for (const launcher of ["medbot.mjs", "whatsapp-bridge.mjs"]) {
      const run = runUnderOpenUmask(root, launcher);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("medbot has not been built. Run `npm run build` in");
      expect(fs.existsSync(path.join(root, "dist"))).toBe(false);
    }
  });

  it("is refused, not run, when a file in it is writable by others", () => {
    const root = packageCopy("loose-file");
    buildUnderOpenUmask(root);
    plant(builtMain(root));
    fs.chmodSync(builtMain(root), 0o666);
    const run = runUnderOpenUmask(root);
    expect(run.stdout).not.toContain("planted code ran");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `refusing to run ${path.join(root, "dist")}: ${builtMain(root)} is writable by group or others`,
    );
  });

  it.skipIf(!isRoot)("is refused, not run, when a file in it belongs to another user", () => {
    const root = packageCopy("foreign-file");
    buildUnderOpenUmask(root);
    plant(builtMain(root));
    fs.chownSync(builtMain(root), 65534, 65534);
    const run = runUnderOpenUmask(root);
    expect(run.stdout).not.toContain("planted code ran");
    expect(run.stderr).toContain(`${builtMain(root)} belongs to uid 65534`);
  });

  it.skipIf(!isRoot)("is refused, not run, when dist/ itself belongs to another user", () => {
    const root = packageCopy("foreign-dist");
    buildUnderOpenUmask(root);
    plant(builtMain(root));
    fs.chownSync(path.join(root, "dist"), 65534, 65534);
    const run = runUnderOpenUmask(root, "whatsapp-bridge.mjs");
    expect(run.stdout).not.toContain("planted code ran");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${path.join(root, "dist")} belongs to uid 65534`);
  });

  it("is rebuilt by the test set-up (ensureBuilt) when a source changed, and only then", async () => {
    const root = packageCopy("stale");
    expect(buildIsCurrent(root)).toBe(false);
    await ensureBuilt(root);
    expect(buildIsCurrent(root)).toBe(true);
    const before = fs.statSync(builtMain(root)).ino;
    await ensureBuilt(root);
    expect(fs.statSync(builtMain(root)).ino).toBe(before); // current: not built again
    const source = path.join(root, "src", "cli", "main.ts");
    fs.appendFileSync(source, '\nexport const BUILD_MARKER = "edited after the build";\n');
    expect(buildIsCurrent(root)).toBe(false);
    await ensureBuilt(root);
    expect(buildIsCurrent(root)).toBe(true);
    expect(fs.readFileSync(builtMain(root), "utf8")).toContain("edited after the build");
  });
});
