// `npm run bench`'s start-up figures (issue 15): how long short commands take through the built bin
// (`medbot --version`, `--help`, `metrics add` against a throwaway data folder) and how many modules each
// loads, and the doctor export as a PDF: the first in a fresh process and the later ones.
// Run alone with `npx tsx scripts/bench-startup.ts`.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { modulesLoadedBy } from "../test/support/loaded-modules.js";
import { MEDBOT_BIN } from "../test/support/medbot-cli.js";
import { ensureBuilt, REPO_ROOT } from "./build.js";

type Report = (what: string, value: string) => void;

const RUNS = 9;
const PDF_CHILD = fileURLToPath(new URL("./bench-startup-pdf.mjs", import.meta.url));

const median = (times: number[]) => [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? 0;

/** Runs `node ...args` once and returns its wall time in ms; fails on a non-zero exit. */
function timedNode(args: string[], env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { encoding: "utf8", env });
  if (result.status !== 0) throw new Error(`node ${args.join(" ")} exit ${result.status}: ${result.stderr}`);
  return performance.now() - started;
}

const timedRun = (args: string[], env: NodeJS.ProcessEnv) => timedNode([MEDBOT_BIN, ...args], env);

/** The first and later doctor PDF exports of a fresh process for a member called `name`, in ms. */
function pdfExportTimes(name: string): number[] {
  const result = spawnSync(process.execPath, [PDF_CHILD, path.join(REPO_ROOT, "dist", "src"), name, "5"], {
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`the PDF export bench failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as number[];
}

export async function benchStartup(report: Report): Promise<void> {
  await ensureBuilt();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-bench-startup-"));
  const env = { ...process.env, MEDBOT_HOME: home, MEDBOT_ALLOW_ROOT: "1" };
  try {
    const setup = ["--provider", "custom", "--api-key", "bench", "--api-base", "http://127.0.0.1:9/v1"];
    timedRun(["onboard", ...setup, "--model", "bench-model", "--yes"], env);
    timedRun(["family", "add", "Ana"], env);
    const bare = Array.from({ length: RUNS }, () => timedNode(["-e", "0"], env));
    report(`\`node -e 0\`, for scale (median of ${RUNS})`, `${Math.round(median(bare))} ms`);
    const commands: [string, string[]][] = [
      ["--version", ["--version"]],
      ["--help", ["--help"]],
      ["metrics add", ["metrics", "add", "Ana", "bp", "130/85"]],
    ];
    for (const [label, args] of commands) {
      const times = Array.from({ length: RUNS }, () => timedRun(args, env));
      const { modules } = await modulesLoadedBy(args, { home });
      report(
        `\`medbot ${label}\` start-up (median of ${RUNS})`,
        `${Math.round(median(times))} ms, ${modules.length} modules`,
      );
    }
    for (const [label, name] of [
      ["Latin name", "Grandpa Joe"],
      ["CJK name", "爸爸"],
    ] as const) {
      const [first, ...later] = pdfExportTimes(name);
      report(
        `doctor export PDF, a year of data, ${label}`,
        `first in a fresh process ${Math.round(first ?? 0)} ms, later median ${Math.round(median(later))} ms`,
      );
    }
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows: [string, string][] = [];
  await benchStartup((what, value) => rows.push([what, value]));
  const width = Math.max(...rows.map(([what]) => what.length));
  for (const [what, value] of rows) console.log(`  ${what.padEnd(width)}  ${value}`);
}
