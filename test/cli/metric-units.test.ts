// `medbot metrics add|list|units` and `family show` as child processes: readings keep the unit they were
// said in, a member's or the household's (config archive.units) preferred unit is what is shown, a unitless
// value in another unit gets a "did you mean --unit" hint and stores nothing, and glucose carries a meal context.
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { type MedbotPaths, resolvePaths } from "../../src/config/paths.js";
import { openDatabase } from "../../src/storage/db.js";
import { runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

let home: string;
let paths: MedbotPaths;

function metricRows(): number {
  const db = openDatabase(paths.database);
  const n = (db.prepare("SELECT count(*) AS n FROM metrics").get() as { n: number }).n;
  db.close();
  return n;
}

beforeAll(() => {
  home = tempHome();
  paths = resolvePaths({ configPath: path.join(home, "config.json") }, {});
  const db = openDatabase(paths.database);
  const archive = new FamilyArchive(db);
  archive.addMember(hostOwner(), { displayName: "爸爸", aliases: ["Dad"], timezone: "UTC" });
  archive.addMember(hostOwner(), { displayName: "妈妈", aliases: ["Mum"], timezone: "UTC" });
  db.close();
});

describe("readings keep what was said", () => {
  it("glucose 110 or temperature 98.6 without a unit: the unit hint, exit 1, nothing stored", async () => {
    const before = metricRows();
    const glucose = await runMedbot(["metrics", "add", "dad", "glucose", "110"], { home });
    expect(glucose.code).toBe(1);
    expect(glucose.stderr).toMatch(
      /Glucose 110 mmol\/L is not plausible \(accepted 0\.5–60 mmol\/L\); did you mean `--unit mg\/dL` \(6\.1 mmol\/L\)\? Nothing was saved\./,
    );
    const temperature = await runMedbot(["metrics", "add", "dad", "temp", "98.6"], { home });
    expect(temperature.code).toBe(1);
    expect(temperature.stderr).toMatch(/did you mean `--unit F` \(37 °C\)\?/);
    expect(metricRows()).toBe(before);
  });

  it("glucose with a meal context is listed per context", async () => {
    const args = ["metrics", "add", "dad", "glucose", "5.6", "--context", "空腹", "--at", "2026-03-01T07:00"];
    const fasting = await runMedbot(args, { home });
    expect(fasting.stderr).not.toMatch(/Error|medbot:/);
    expect(fasting.stdout).toBe(
      "Saved for 爸爸: glucose (fasting) 5.6 mmol/L at 2026-03-01 07:00 (reading #1).\n",
    );
    const after = [
      "metrics",
      "add",
      "dad",
      "glucose",
      "8.4",
      "--context",
      "餐后",
      "--at",
      "2026-03-01T13:00",
    ];
    expect((await runMedbot(after, { home })).code).toBe(0);
    const bad = await runMedbot(["metrics", "add", "dad", "glucose", "6", "--context", "teatime"], { home });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Meal context "teatime" is not one of fasting, before_meal, after_meal/);
    const list = await runMedbot(["metrics", "list", "dad"], { home });
    expect(list.stdout.split("\n")).toEqual([
      "爸爸 (times UTC)",
      "glucose (fasting) mmol/L: 1 reading 2026-03-01..2026-03-01; latest 5.6 (2026-03-01 07:00); min 5.6, max 5.6, mean 5.6; trend too few readings",
      "  #1 glucose (fasting) 5.6 mmol/L at 2026-03-01 07:00",
      "glucose (after meal) mmol/L: 1 reading 2026-03-01..2026-03-01; latest 8.4 (2026-03-01 13:00); min 8.4, max 8.4, mean 8.4; trend too few readings",
      "  #2 glucose (after meal) 8.4 mmol/L at 2026-03-01 13:00",
      "",
    ]);
  });

  it("a member's preference lb shows weight in lb in metrics list, family show and record.md", async () => {
    const set = await runMedbot(["metrics", "units", "mum", "weight=lb"], { home });
    expect(set.stderr).not.toMatch(/Error|medbot:/);
    expect(set.stdout).toBe("Saved for 妈妈: weight=lb\n");
    const bad = await runMedbot(["metrics", "units", "mum", "weight=stone"], { home });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/"stone" is not a unit for weight\. Accepted: kg, lb, g\./);
    const add = await runMedbot(["metrics", "add", "mum", "weight", "70", "--at", "2026-03-01T08:00"], {
      home,
    });
    expect(add.stdout).toBe(
      "Saved for 妈妈: weight 154.3 lb (70 kg as measured) at 2026-03-01 08:00 (reading #3).\n",
    );
    const inLb = ["metrics", "add", "mum", "weight", "150", "--unit", "lb", "--at", "2026-03-02T08:00"];
    expect((await runMedbot(inLb, { home })).stdout).toBe(
      "Saved for 妈妈: weight 150 lb at 2026-03-02 08:00 (reading #4).\n",
    );
    const list = await runMedbot(["metrics", "list", "mum"], { home });
    expect(list.stdout).toContain(
      "weight lb: 2 readings 2026-03-01..2026-03-02; latest 150 (2026-03-02 08:00)",
    );
    const show = await runMedbot(["family", "show", "mum"], { home });
    expect(show.stdout).toContain("weight 150 lb at 2026-03-02 08:00");
    const view = fs.readFileSync(path.join(paths.workspace, "family", "妈妈", "record.md"), "utf8");
    expect(view).toContain("**Weight**: 150 lb (2026-03-02 08:00)");
    expect((await runMedbot(["metrics", "units", "mum"], { home })).stdout).toBe(
      "Units for 妈妈: weight=lb\n",
    );
  });

  it("the household's archive.units shows 110 mg/dL as said; a bad unit there is a config error", async () => {
    const args = ["metrics", "add", "dad", "glucose", "110", "--unit", "mg/dL", "--at", "2026-03-02T07:00"];
    expect((await runMedbot(args, { home })).stdout).toMatch(
      /glucose 6\.11 mmol\/L \(110 mg\/dL as measured\)/,
    );
    writeConfig(home, { archive: { units: { glucose: "mg/dL" } } });
    const list = await runMedbot(["metrics", "list", "dad"], { home });
    expect(list.stdout).toContain("  #5 glucose 110 mg/dL at 2026-03-02 07:00");
    expect(list.stdout).toContain(
      "  #1 glucose (fasting) 101 mg/dL (5.6 mmol/L as measured) at 2026-03-01 07:00",
    );
    writeConfig(home, { archive: { units: { glucose: "stone" } } });
    const bad = await runMedbot(["metrics", "list", "dad"], { home });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/archive\.units\.glucose.*"stone" is not a unit for glucose/);
    fs.rmSync(path.join(home, "config.json"));
  });
});
