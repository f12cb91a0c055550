// `medbot metrics add|list|chart` as a child process against a real archive file.
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { type MedbotPaths, resolvePaths } from "../../src/config/paths.js";
import { openDatabase } from "../../src/storage/db.js";
import { runMedbot, tempHome } from "../support/medbot-cli.js";

let home: string;
let paths: MedbotPaths;

/** Rows in the metrics and audit tables, read straight from the file. */
function counts(): { metrics: number; audit: number } {
  const db = openDatabase(paths.database);
  const n = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  const result = { metrics: n("metrics"), audit: n("audit_log") };
  db.close();
  return result;
}

beforeAll(() => {
  home = tempHome();
  paths = resolvePaths({ configPath: path.join(home, "config.json") }, {});
  const db = openDatabase(paths.database);
  const archive = new FamilyArchive(db);
  archive.addMember(hostOwner(), { displayName: "爸爸", aliases: ["Dad"], timezone: "UTC" });
  archive.addMember(hostOwner(), { displayName: "妈妈", timezone: "UTC" });
  db.close();
});

describe("medbot metrics", () => {
  it("add prints what it stored, converted to the kind's unit", async () => {
    const bp = await runMedbot(["metrics", "add", "dad", "bp", "130/85/72", "--at", "2026-03-01T08:00"], {
      home,
    });
    expect(bp.stderr).not.toMatch(/Error|medbot:/);
    expect(bp.code).toBe(0);
    expect(bp.stdout).toBe(
      "Saved for 爸爸: blood pressure 130/85 mmHg, pulse 72 at 2026-03-01 08:00 (reading #1).\n",
    );
    const args = [
      "metrics",
      "add",
      "爸爸",
      "glucose",
      "110",
      "--unit",
      "mg/dL",
      "--at",
      "2026-03-01",
      "--note",
      "fasting",
    ];
    const glucose = await runMedbot(args, { home });
    expect(glucose.code).toBe(0);
    expect(glucose.stdout).toBe(
      "Saved for 爸爸: glucose 6.11 mmol/L (110 mg/dL as measured) at 2026-03-01 00:00 (reading #2).\n",
    );
    await runMedbot(["metrics", "add", "dad", "bp", "142/90", "--at", "2026-03-02T08:00"], { home });
  });

  it("refuses an implausible value or an unknown member with exit 1 and changes nothing", async () => {
    const before = counts();
    const implausible = await runMedbot(["metrics", "add", "dad", "bp", "350/90"], { home });
    expect(implausible.code).toBe(1);
    expect(implausible.stderr).toMatch(/Systolic blood pressure 350 mmHg is not plausible.*50–300 mmHg/);
    expect(implausible.stdout).toBe("");
    const unknown = await runMedbot(["metrics", "add", "grandpa", "hr", "70"], { home });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /No family member called "grandpa"\. Members: 爸爸 \(id 爸爸\), 妈妈 \(id 妈妈\)/,
    );
    const future = await runMedbot(["metrics", "add", "dad", "hr", "70", "--at", "2999-01-01"], { home });
    expect(future.code).toBe(1);
    expect(future.stderr).toMatch(/is in the future/);
    expect(counts()).toEqual(before);
  });

  it("list prints per kind a summary and the readings, or JSON", async () => {
    const text = await runMedbot(["metrics", "list", "dad"], { home });
    expect(text.code).toBe(0);
    expect(text.stdout.split("\n")).toEqual([
      "爸爸 (times UTC)",
      "blood pressure mmHg: 2 readings 2026-03-01..2026-03-02; latest 142/90 (2026-03-02 08:00); systolic min 130, max 142, mean 136; diastolic min 85, max 90, mean 87.5; trend too few readings",
      "  #1 blood pressure 130/85 mmHg, pulse 72 at 2026-03-01 08:00",
      "  #3 blood pressure 142/90 mmHg at 2026-03-02 08:00",
      "glucose mmol/L: 1 reading 2026-03-01..2026-03-01; latest 6.11 (2026-03-01 00:00; 110 mg/dL as measured); min 6.11, max 6.11, mean 6.11; trend too few readings",
      "  #2 glucose 6.11 mmol/L (110 mg/dL as measured) at 2026-03-01 00:00 (fasting)",
      "",
    ]);
    const json = await runMedbot(
      ["metrics", "list", "dad", "--kind", "bp", "--since", "2026-03-02", "--json"],
      {
        home,
      },
    );
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout);
    expect(body.member).toEqual({ id: "爸爸", displayName: "爸爸" });
    expect(body.kinds).toHaveLength(1);
    expect(body.kinds[0]).toMatchObject({ kind: "blood_pressure", unit: "mmHg", count: 1 });
    expect(body.kinds[0].readings).toMatchObject([
      { id: 3, value: 142, value2: 90, measuredAt: "2026-03-02T08:00:00.000Z" },
    ]);
    const badKind = await runMedbot(["metrics", "list", "dad", "--kind", "cholesterol"], { home });
    expect(badKind.code).toBe(1);
    expect(badKind.stderr).toMatch(/"cholesterol" is not a kind of reading\. Known: blood_pressure, glucose/);
  });

  it("chart writes a private SVG into the member's folder (or -o) and prints the path", async () => {
    const result = await runMedbot(["metrics", "chart", "dad", "bp"], { home });
    expect(result.code).toBe(0);
    const file = path.join(paths.workspace, "family", "爸爸", "charts", "blood_pressure.svg");
    expect(result.stdout).toBe(`${file}\n`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const svg = fs.readFileSync(file, "utf8");
    expect(svg).toContain("<title>blood pressure (mmHg)</title>");
    expect([...svg.matchAll(/class="point systolic"[^>]*data-at="([^"]+)"/g)].map((m) => m[1])).toEqual([
      "2026-03-01T08:00:00.000Z",
      "2026-03-02T08:00:00.000Z",
    ]);
    const chosen = path.join(home, "out", "glucose.svg");
    const custom = await runMedbot(["metrics", "chart", "dad", "sugar", "-o", chosen], { home });
    expect(custom.stdout).toBe(`${chosen}\n`);
    expect(fs.readFileSync(chosen, "utf8")).toContain("mmol/L");
    const empty = await runMedbot(["metrics", "chart", "妈妈", "weight"], { home });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/妈妈 has no weight readings to chart/);
  });
});
