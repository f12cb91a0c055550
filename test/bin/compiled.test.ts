// The code medbot runs is writable by its user only: dist/ is built 0755/0644 whatever the umask, and a build
// that another user owns or can write is made again rather than run. Each test runs the real bin/medbot.mjs
// from a copy of the package, so the worktree's own dist/ is never touched.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const PACKAGE_PARTS = ["package.json", "bin", "src", "bridge", "skills", "workspace-template"];
const isRoot = process.getuid?.() === 0;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-compiled-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A copy of the package (its node_modules linked) in which medbot can build its own dist/. */
function packageCopy(name: string): string {
  const root = path.join(scratch, name);
  fs.mkdirSync(root);
  for (const part of PACKAGE_PARTS)
    fs.cpSync(path.join(REPO, part), path.join(root, part), { recursive: true });
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(root, "node_modules"));
  return root;
}

/** `medbot --version` from `root` under umask 000; stdout. */
function runUnderOpenUmask(root: string, temporary = os.tmpdir()): string {
  return execFileSync(
    "/bin/sh",
    [
      "-c",
      'umask 000 && exec "$0" "$@"',
      process.execPath,
      path.join(root, "bin", "medbot.mjs"),
      "--version",
    ],
    { encoding: "utf8", env: { ...process.env, MEDBOT_ALLOW_ROOT: "1", TMPDIR: temporary } },
  );
}

/** Every folder and file under `root`: path, mode and owner. */
function entriesUnder(root: string): { path: string; mode: number; uid: number; folder: boolean }[] {
  return fs.readdirSync(root, { recursive: true, encoding: "utf8" }).map((relative) => {
    const stat = fs.lstatSync(path.join(root, relative));
    return { path: relative, mode: stat.mode & 0o777, uid: stat.uid, folder: stat.isDirectory() };
  });
}

/** The compiled CLI entry of the package's one build. */
function compiledMain(root: string): string {
  const builds = fs.readdirSync(path.join(root, "dist"));
  expect(builds).toHaveLength(1);
  return path.join(root, "dist", builds[0] ?? "", "src", "cli", "main.js");
}

/** Puts a line at the top of the compiled CLI that announces itself if it ever runs. */
function plant(file: string): void {
  fs.writeFileSync(file, `process.stdout.write("planted code ran\\n");\n${fs.readFileSync(file, "utf8")}`);
}

describe("the compiled build (dist/)", () => {
  it("under umask 000 is 0755 folders and 0644 files: nothing in it is writable by group or others", () => {
    const root = packageCopy("fresh");
    expect(runUnderOpenUmask(root).trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const entries = entriesUnder(path.join(root, "dist"));
    expect(entries.length).toBeGreaterThan(100);
    expect(entries.filter((e) => e.mode !== (e.folder ? 0o755 : 0o644))).toEqual([]);
    expect(fs.statSync(path.join(root, "dist")).mode & 0o777).toBe(0o755);
  });

  it("is built again, not run, when a file in it is writable by others", () => {
    const root = packageCopy("loose-file");
    runUnderOpenUmask(root);
    const main = compiledMain(root);
    plant(main);
    fs.chmodSync(main, 0o666);
    expect(runUnderOpenUmask(root)).not.toContain("planted code ran");
    expect(fs.readFileSync(compiledMain(root), "utf8")).not.toContain("planted code ran");
    expect(fs.statSync(compiledMain(root)).mode & 0o777).toBe(0o644);
  });

  it.skipIf(!isRoot)("is built again, not run, when a file in it belongs to another user", () => {
    const root = packageCopy("foreign-file");
    runUnderOpenUmask(root);
    const main = compiledMain(root);
    plant(main);
    fs.chownSync(main, 65534, 65534);
    expect(runUnderOpenUmask(root)).not.toContain("planted code ran");
    expect(fs.statSync(compiledMain(root)).uid).toBe(process.getuid?.());
  });

  it.skipIf(!isRoot)(
    "is not used at all when dist/ belongs to another user: the sources run, without tsx's cache",
    () => {
      const root = packageCopy("foreign-dist");
      runUnderOpenUmask(root);
      plant(compiledMain(root));
      fs.chownSync(path.join(root, "dist"), 65534, 65534);
      const temporary = fs.mkdtempSync(path.join(scratch, "tmpdir-"));
      const output = runUnderOpenUmask(root, temporary);
      expect(output).not.toContain("planted code ran");
      expect(output.trim()).toMatch(/^\d+\.\d+\.\d+$/);
      expect(fs.readdirSync(temporary)).toEqual([]);
    },
  );
});
