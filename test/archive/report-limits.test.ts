// Reading a report never stalls the gateway: a PDF or a large text is read in a worker thread with limits
// on pages, characters and time, and the person is told plainly which limit a report broke.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { readReportText } from "../../src/archive/report-reader.js";
import { normaliseText, REPORT_LIMITS } from "../../src/archive/report-text.js";
import { ingestReport, listReports } from "../../src/archive/reports.js";
import { resolvePaths } from "../../src/config/paths.js";
import { onboard } from "../../src/setup/workspace.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { manyPagePdf } from "../support/many-page-pdf.js";
import { runMedbot, tempHome } from "../support/medbot-cli.js";

const owner = hostOwner("test");
let root: string;
let db: Db;
let archive: FamilyArchive;

beforeEach(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "medbot-report-limits-")));
  db = openDatabase(":memory:");
  archive = new FamilyArchive(db, { clock: () => new Date("2026-03-02T09:00:00Z") });
  archive.addMember(owner, { displayName: "Dad", timezone: "UTC" });
});

afterEach(() => {
  db.close();
  fs.rmSync(root, { recursive: true, force: true });
});

function inboxFile(name: string, data: string | Uint8Array): string {
  const file = path.join(root, "inbox", name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  return file;
}

/** The longest time the event loop went without running a 10 ms timer while `work` ran. */
async function longestStall(work: () => Promise<unknown>): Promise<{ stallMs: number; outcome: unknown }> {
  let last = performance.now();
  let stallMs = 0;
  const tick = () => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  };
  const timer = setInterval(tick, 10);
  const outcome = await work().catch((error: unknown) => error);
  tick();
  clearInterval(timer);
  return { stallMs, outcome };
}

const nothingStored = () => {
  expect(db.prepare("SELECT COUNT(*) AS n FROM reports").get()).toEqual({ n: 0 });
  expect(fs.existsSync(path.join(root, "family"))).toBe(false);
};

describe("a report too big to read", () => {
  it("refuses a 600 KB PDF of 100,000 pages while the event loop keeps ticking, storing nothing", async () => {
    const file = inboxFile("scan-pack.pdf", manyPagePdf(100_000));
    expect(fs.statSync(file).size).toBeLessThan(700_000);
    const { stallMs, outcome } = await longestStall(() =>
      ingestReport(archive, owner, "dad", { file }, root),
    );
    expect((outcome as Error).message).toBe(
      'The PDF "scan-pack.pdf" has 100,000 pages; medbot reads at most 500; nothing was stored.',
    );
    expect(stallMs).toBeLessThan(200);
    nothingStored();
  });

  it("stops the reader at the time limit and says so", async () => {
    const started = performance.now();
    const { stallMs, outcome } = await longestStall(() =>
      readReportText({ kind: "pdf", data: manyPagePdf(450) }, 'The PDF "slow.pdf"', {
        ...REPORT_LIMITS,
        seconds: 0.3,
      }),
    );
    expect((outcome as Error).message).toBe(
      'The PDF "slow.pdf" took longer than 0.3 seconds to read, medbot\'s limit for one report; nothing was stored.',
    );
    expect(performance.now() - started).toBeLessThan(3000);
    expect(stallMs).toBeLessThan(200);
  });

  it("refuses a text file with more characters than medbot reads, off the event loop", async () => {
    const line = "Glucose 6.1 mmol/L (3.9-6.1)\n";
    const file = inboxFile("everything.txt", line.repeat(Math.ceil(2_100_000 / line.length)));
    const { stallMs, outcome } = await longestStall(() =>
      ingestReport(archive, owner, "dad", { file }, root),
    );
    expect((outcome as Error).message).toMatch(
      /^"everything.txt" has 2,100,\d{3} characters of text; medbot reads at most 2,000,000; nothing was stored.$/,
    );
    expect(stallMs).toBeLessThan(200);
    nothingStored();
  });

  it("refuses a PDF whose text runs past the character limit", async () => {
    const outcome = await readReportText({ kind: "pdf", data: manyPagePdf(40) }, 'The PDF "long.pdf"', {
      ...REPORT_LIMITS,
      characters: 500,
    }).catch((error: Error) => error);
    expect((outcome as Error).message).toBe(
      'The PDF "long.pdf" has more than 500 characters of text; medbot reads at most 500; nothing was stored.',
    );
  });

  it("stops a reader that needs more memory than its heap limit, and says so", async () => {
    const outcome = await readReportText({ kind: "pdf", data: manyPagePdf(300) }, 'The PDF "heavy.pdf"', {
      ...REPORT_LIMITS,
      heapMegabytes: 8,
    }).catch((error: Error) => error);
    expect((outcome as Error).message).toBe(
      'The PDF "heavy.pdf" needed more than 8 MB of memory to read, medbot\'s limit for one report; nothing was stored.',
    );
  });

  it("trims a long run of trailing blanks in linear time", () => {
    const started = performance.now();
    expect(normaliseText(`${" ".repeat(1_000_000)}x${" \t".repeat(500_000)}\nGlucose 6.1   `)).toBe(
      `${" ".repeat(1_000_000)}x\nGlucose 6.1`.trim(),
    );
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("a report within the limits", () => {
  it("ingests a 100-page PDF with its key values", async () => {
    const file = inboxFile("renal-series.pdf", manyPagePdf(100, "Creatinine 88 umol/L (62-106)"));
    const result = await ingestReport(archive, owner, "dad", { file }, root);
    expect(result.report.keyValues).toEqual([
      { name: "Creatinine", value: "88", unit: "umol/L", range: "62-106" },
    ]);
    expect(result.text.split("Creatinine").length - 1).toBe(100);
    expect(listReports(db, "dad")).toHaveLength(1);
  });
});

describe("medbot import-medbot, running the compiled reader", () => {
  it("imports a normal PDF report and names the 100,000-page one it refused", async () => {
    const reports = path.join(root, "medbot", "family", "dad", "reports");
    fs.mkdirSync(reports, { recursive: true });
    fs.writeFileSync(path.join(root, "medbot", "family", "dad", "record.md"), "# Dad\n");
    fs.writeFileSync(
      path.join(reports, "20260301-renal.pdf"),
      manyPagePdf(3, "Glucose 6.1 mmol/L (3.9-6.1)"),
    );
    fs.writeFileSync(path.join(reports, "20260302-scan-pack.pdf"), manyPagePdf(100_000));
    const home = tempHome();
    onboard(resolvePaths({ configPath: path.join(home, "config.json") }, {}), {}, false, {});

    const result = await runMedbot(["import-medbot", path.join(root, "medbot"), "--json"], { home });
    const report = JSON.parse(result.stdout) as {
      members: { id: string; imported: { reports: number } }[];
      problems: { file: string; reason: string }[];
    };
    expect(report.members.find((m) => m.id === "dad")?.imported.reports).toBe(1);
    expect(JSON.stringify(report)).toContain(
      'The PDF \\"20260302-scan-pack.pdf\\" has 100,000 pages; medbot reads at most 500; nothing was stored.',
    );
    fs.rmSync(home, { recursive: true, force: true });
  }, 60_000);
});
