// Reads a report's text in a worker thread with limits on pages, characters, wall time and memory, so a
// hostile or huge file (a 600 KB PDF listing 100,000 pages) never stalls the gateway's other chats.
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { ArchiveError } from "./archive.js";
import {
  REPORT_LIMITS,
  type ReportLimits,
  type ReportReadRequest,
  type ReportReadResult,
  readReportSource,
} from "./report-text.js";

/** Text up to this size is read in place: linear work of a millisecond costs less than starting a worker. */
const IN_PLACE_TEXT_BYTES = 256 * 1024;

/**
 * The text of a report (`what` names it in refusals: `"renal.pdf"`, `The pasted text`). Throws an
 * ArchiveError saying which limit it broke; the worker is stopped when the time limit runs out.
 */
export function readReportText(
  request: Omit<ReportReadRequest, "limits">,
  what: string,
  limits: ReportLimits = REPORT_LIMITS,
): Promise<string> {
  const size = typeof request.data === "string" ? request.data.length * 3 : request.data.byteLength;
  if (request.kind !== "pdf" && size <= IN_PLACE_TEXT_BYTES) {
    return readReportSource({ ...request, limits }).then((result) => settle(result, what));
  }
  const worker = startReader({ ...request, limits });
  return new Promise<string>((resolve, reject) => {
    const refuse = (reason: string) => reject(new ArchiveError(`${what} ${reason}; nothing was stored.`));
    const timer = setTimeout(() => {
      refuse(`took longer than ${limits.seconds} seconds to read, medbot's limit for one report`);
      void worker.terminate();
    }, limits.seconds * 1000);
    worker.once("message", (result: ReportReadResult) => {
      try {
        resolve(settle(result, what));
      } catch (error) {
        reject(error);
      }
    });
    worker.once("error", (error: Error & { code?: string }) => {
      refuse(
        error.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? `needed more than ${limits.heapMegabytes} MB of memory to read, medbot's limit for one report`
          : `could not be read (${error.message})`,
      );
    });
    worker.once("exit", () => {
      clearTimeout(timer);
      refuse("could not be read (the reader stopped without an answer)"); // no-op once settled
    });
  }).finally(() => void worker.terminate());
}

/** The file URL of tsx's ESM API, as its package exports it to `import` (a worker cannot resolve bare names here). */
function tsxApi(): string {
  const manifest = createRequire(import.meta.url).resolve("tsx/package.json");
  const exported = JSON.parse(fs.readFileSync(manifest, "utf8")).exports["./esm/api"].import.default;
  return pathToFileURL(path.join(path.dirname(manifest), exported)).href;
}

function settle(result: ReportReadResult, what: string): string {
  if ("text" in result) return result.text;
  throw new ArchiveError(`${what} ${result.refused}; nothing was stored.`);
}

/**
 * The worker, from the compiled JavaScript beside this file (dist/) or, when running from the TypeScript
 * sources (tsx, tests), through a two-line bootstrap that registers tsx inside the worker first.
 */
function startReader(request: ReportReadRequest): Worker {
  const options = {
    workerData: request,
    resourceLimits: { maxOldGenerationSizeMb: request.limits.heapMegabytes },
  };
  if (!import.meta.url.endsWith(".ts")) {
    return new Worker(new URL("./report-reader-worker.js", import.meta.url), options);
  }
  const entry = new URL("./report-reader-worker.ts", import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
