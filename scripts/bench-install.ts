// `npm run bench`'s install figures (issue 14): the package as npm would install it. Packs the tarball from the
// current build, unpacks it in a temporary folder, installs its production dependencies there
// (`npm ci --omit=dev --ignore-scripts`, so nothing is compiled) and reports the tarball's size, the
// installed size in MB, and the start-up of `medbot --version` from that installed copy.
// Run alone with `npx tsx scripts/bench-install.ts`.
import { type ExecFileSyncOptionsWithStringEncoding, execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { ensureBuilt, REPO_ROOT } from "./build.js";

type Report = (what: string, value: string) => void;

/** Bytes of every file under `folder` (links counted as links, not followed). */
function bytesUnder(folder: string): number {
  let total = 0;
  for (const relative of fs.readdirSync(folder, { recursive: true, encoding: "utf8" })) {
    const stat = fs.lstatSync(path.join(folder, relative));
    if (!stat.isDirectory()) total += stat.size;
  }
  return total;
}

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** Median wall time of `runs` runs of `medbot --version` from `bin`, in ms. */
function medianVersionRun(bin: string, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const result = spawnSync(process.execPath, [bin, "--version"], {
      encoding: "utf8",
      env: { ...process.env, MEDBOT_ALLOW_ROOT: "1" },
    });
    if (result.status !== 0) throw new Error(`medbot --version failed: ${result.stderr}`);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)] ?? 0);
}

/** Packs, installs production dependencies in a temporary folder, and reports sizes and start-up. */
export async function benchInstall(report: Report): Promise<void> {
  await ensureBuilt();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-bench-install-"));
  try {
    const quiet: ExecFileSyncOptionsWithStringEncoding = {
      cwd: REPO_ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    };
    const packed = JSON.parse(
      execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], quiet),
    ) as { filename: string; size: number; unpackedSize: number; entryCount: number }[];
    const tarball = packed[0];
    if (!tarball) throw new Error("npm pack produced no tarball");
    report(
      "tarball (npm pack)",
      `${(tarball.size / 1024).toFixed(0)} kB, ${tarball.entryCount} files, ${megabytes(tarball.unpackedSize)} unpacked`,
    );
    const installed = path.join(work, "package");
    execFileSync("tar", ["-xzf", path.join(work, tarball.filename), "-C", work]);
    fs.copyFileSync(path.join(REPO_ROOT, "package-lock.json"), path.join(installed, "package-lock.json"));
    execFileSync("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], {
      ...quiet,
      cwd: installed,
    });
    const modules = bytesUnder(path.join(installed, "node_modules"));
    report(
      "production install (npm ci --omit=dev)",
      `${megabytes(bytesUnder(installed))} (node_modules ${megabytes(modules)}, native builds not included)`,
    );
    report(
      "installed `medbot --version` start-up (median of 7)",
      `${medianVersionRun(path.join(installed, "bin", "medbot.mjs"), 7)} ms`,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  await benchInstall((what, value) => console.log(`  ${what}  ${value}`));
}
