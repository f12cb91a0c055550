// Importing a MedBot workspace that MedBot kept updating between two imports: record.md is rewritten with a
// new "Last updated" each time, yet its weight and height are readings once, each fact and symptom is kept
// once, and the export's latest weight is the last real weighing.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { exportMedicalRecord } from "../../src/archive/export/index.js";
import { importMedbotFamily } from "../../src/archive/import-medbot.js";
import { DuplicateMembersError } from "../../src/archive/medbot-duplicates.js";
import { mergeMembers, removeMember } from "../../src/archive/member-changes.js";
import { metricSeries } from "../../src/archive/metrics.js";
import { resolvePaths } from "../../src/config/paths.js";
import { onboard } from "../../src/setup/workspace.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import { runMedbot, tempHome } from "../support/medbot-cli.js";

const FAMILY = fileURLToPath(new URL("../fixtures/medbot-workspace/family", import.meta.url));

let db: Db;
let now: Date;
let archive: FamilyArchive;
let workspace: string;
let copy: string;

beforeEach(() => {
  const home = tempHome();
  workspace = path.join(home, "workspace");
  fs.mkdirSync(workspace, { recursive: true, mode: 0o700 });
  db = openDatabase(path.join(workspace, "medbot.db"));
  archive = new FamilyArchive(db, { clock: () => now });
  copy = path.join(home, "medbot", "family");
  fs.cpSync(FAMILY, copy, { recursive: true });
});

afterEach(() => db.close());

const dad = (file: string) => path.join(copy, "爸爸", file);

/** What MedBot's update_record does: the whole record.md written again, with a new "Last updated". */
function rewriteRecord(updated: string, weight = "78 kg"): void {
  const text = fs
    .readFileSync(dad("record.md"), "utf8")
    .replace(/- Weight: .*/, `- Weight: ${weight}`)
    .replace(/- Last updated: .*/, `- Last updated: ${updated}`);
  fs.writeFileSync(dad("record.md"), text);
}

const countOf = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
const duplicates = (table: string, key: string) =>
  countOf(
    `SELECT COUNT(*) AS n FROM (SELECT ${key} FROM ${table} GROUP BY member_id, ${key} HAVING COUNT(*) > 1)`,
  );

describe("importing a MedBot workspace updated between imports", () => {
  it("keeps each fact, symptom and reading once; profile weight is a reading only when new", async () => {
    now = new Date("2026-03-15T02:00:00Z");
    await importMedbotFamily(archive, copy, workspace);

    // MedBot's use over the next days: a weighing, a new symptom, record.md rewritten (weight line unchanged).
    fs.writeFileSync(
      dad("metrics/weight.jsonl"),
      '{"timestamp":"2026-03-20 07:30","value":76.4,"unit":"kg","source":"home scale","notes":""}\n',
    );
    fs.appendFileSync(dad("symptoms.md"), "- [2026-03-19 09:00] patient-reported: headache; severity 2/10\n");
    rewriteRecord("2026-03-20 21:05");
    now = new Date("2026-03-21T02:00:00Z");
    const second = await importMedbotFamily(archive, copy, workspace);
    expect(second.members.find((m) => m.id === "爸爸")?.imported).toMatchObject({
      facts: 0,
      symptoms: 1,
      medications: 0,
      metrics: 1,
    });

    const weights = metricSeries(db, "爸爸", "weight").map((r) => [r.value, r.measuredAt, r.note]);
    expect(weights).toEqual([
      [78, "2026-03-15T02:00:00.000Z", expect.stringMatching(/^from MedBot profile/)],
      [76.4, expect.stringMatching(/^2026-03-2/), "home scale"],
    ]);
    expect(metricSeries(db, "爸爸", "height").map((r) => r.value)).toEqual([172]);

    // MedBot now writes the new weight into record.md too: nothing new either.
    rewriteRecord("2026-03-22 08:00", "76.4 kg");
    now = new Date("2026-03-23T02:00:00Z");
    const third = await importMedbotFamily(archive, copy, workspace);
    expect(third.members.every((m) => Object.values(m.imported).every((n) => n === 0))).toBe(true);

    expect(duplicates("facts", "category, text")).toBe(0);
    expect(duplicates("symptoms", "name, onset")).toBe(0);
    expect(duplicates("metrics", "kind, measured_at, value")).toBe(0);
    expect(countOf("SELECT COUNT(*) AS n FROM metrics WHERE member_id = '爸爸' AND kind = 'weight'")).toBe(2);

    const { files } = await exportMedicalRecord(archive, hostOwner("cli"), "爸爸", {
      workspace,
      format: "md",
    });
    const text = fs.readFileSync(files[0]!, "utf8");
    const weightSection = text.slice(text.indexOf("Weight"));
    expect(weightSection).toMatch(/Latest: \*\*76\.4 kg\*\*/);
    expect(text).not.toMatch(/Latest: \*\*78 kg\*\*/);
  });

  it("names a profile weight it cannot read, and stores nothing for it", async () => {
    now = new Date("2026-03-15T02:00:00Z");
    rewriteRecord("2026-03-14 20:10", "heavy");
    const report = await importMedbotFamily(archive, copy, workspace);
    expect(report.problems.map((p) => `${p.file}:${p.line} ${p.reason}`)).toContainEqual(
      expect.stringMatching(/^爸爸\/record\.md:9 "heavy" is not a number/),
    );
    expect(metricSeries(db, "爸爸", "weight")).toEqual([]);
  });
});

describe("importing a MedBot member who is already in the archive", () => {
  it("stops before writing anything when a name, alias or birth date points at a member here", async () => {
    now = new Date("2026-03-15T02:00:00Z");
    archive.addMember(hostOwner(), { displayName: "Helen Li", birthDate: "1959-11-03" });
    archive.addMember(hostOwner(), { displayName: "Grandpa", aliases: ["爸爸"] });
    const audit = countOf("SELECT COUNT(*) AS n FROM audit_log");
    const refusal = await importMedbotFamily(archive, copy, workspace).catch((error: Error) => error);
    expect(refusal).toBeInstanceOf(DuplicateMembersError);
    expect(
      (refusal as DuplicateMembersError).duplicates.map((d) => [d.medbotId, d.matches.map((m) => m.why)]),
    ).toEqual([
      ["mom", ["same birth date (1959-11-03), similar name"]],
      ["爸爸", ['both are called "爸爸"']],
    ]);
    expect((refusal as Error).message).toContain("--map mom=helen-li");
    expect(countOf("SELECT COUNT(*) AS n FROM audit_log")).toBe(audit);
    expect(countOf("SELECT COUNT(*) AS n FROM members")).toBe(2);
  });

  it("imports into the member --map names, each fact once, and as a new member with =new", async () => {
    now = new Date("2026-03-15T02:00:00Z");
    const helen = archive.addMember(hostOwner(), { displayName: "Helen Li", birthDate: "1959-11-03" });
    const condition = { category: "condition" as const, text: "Hypothyroidism", details: null, since: null };
    archive.add(hostOwner(), helen.id, "facts", condition, "confirmed");
    const map = { mom: "Helen Li" };
    const first = await importMedbotFamily(archive, copy, workspace, { map });
    expect(first.members.find((m) => m.folder === "mom")).toMatchObject({
      id: "helen-li",
      created: false,
      mapped: true,
    });
    expect(archive.members(hostOwner()).map((m) => m.id)).toEqual(["helen-li", "lily", "爸爸"]);
    const facts = countOf("SELECT COUNT(*) AS n FROM facts WHERE member_id = 'helen-li'");
    expect(
      countOf("SELECT COUNT(*) AS n FROM facts WHERE member_id = 'helen-li' AND text = 'Hypothyroidism'"),
    ).toBe(1);
    await importMedbotFamily(archive, copy, workspace, { map });
    expect(countOf("SELECT COUNT(*) AS n FROM facts WHERE member_id = 'helen-li'")).toBe(facts);

    await expect(importMedbotFamily(archive, copy, workspace, { map: { grandma: "new" } })).rejects.toThrow(
      '--map grandma=...: there is no MedBot member "grandma" here (MedBot ids: lily, mom, 爸爸).',
    );
    await expect(importMedbotFamily(archive, copy, workspace, { map: { mom: "Aunt May" } })).rejects.toThrow(
      /^--map mom=Aunt May: No family member called "Aunt May"/,
    );
    const apart = await importMedbotFamily(archive, copy, workspace, { map: { mom: "new" } });
    expect(apart.members.find((m) => m.folder === "mom")).toMatchObject({ id: "mom", created: true });
  });
});

describe("importing again after a merge or a removal here", () => {
  it("follows a merge into the member that took over, and does not bring a removed member back", async () => {
    now = new Date("2026-03-15T02:00:00Z");
    archive.addMember(hostOwner(), { displayName: "Helen Li", birthDate: "1959-11-03" });
    await importMedbotFamily(archive, copy, workspace, { map: { mom: "new" } });
    mergeMembers(archive, hostOwner(), "mom", "helen-li");
    removeMember(archive, hostOwner(), "爸爸");
    const rows = countOf("SELECT COUNT(*) AS n FROM audit_log");

    const again = await importMedbotFamily(archive, copy, workspace);
    expect(again.members.map((m) => [m.folder, m.id, m.mapped, m.alreadyPresent > 0])).toEqual([
      ["lily", "lily", false, true],
      ["mom", "helen-li", true, true],
    ]);
    expect(again.problems).toContainEqual({
      file: "爸爸",
      line: null,
      reason: "member 爸爸 was removed here; not imported (--map 爸爸=new imports it as a new member)",
    });
    expect(countOf("SELECT COUNT(*) AS n FROM audit_log")).toBe(rows);
    expect(archive.members(hostOwner()).map((m) => m.id)).toEqual(["helen-li", "lily"]);
  });
});

describe("medbot import-medbot --map", () => {
  /** MedBot's own layout: its 妈妈 got the id "member" (MedBot's fallback for a name with no ASCII). */
  function medbotWorkspace(): string {
    const root = path.join(tempHome(), "medbot-workspace");
    const folder = path.join(root, "family", "member");
    fs.mkdirSync(folder, { recursive: true });
    const record = fs
      .readFileSync(path.join(FAMILY, "mom", "record.md"), "utf8")
      .replace("# Mom", "# 妈妈")
      .replace("- Member ID: mom", "- Member ID: member")
      .replace("- Preferred name: Helen", "- Preferred name: 妈妈");
    fs.writeFileSync(path.join(folder, "record.md"), record);
    fs.copyFileSync(path.join(FAMILY, "mom", "symptoms.md"), path.join(folder, "symptoms.md"));
    return root;
  }

  it("names the likely duplicate and writes nothing; --map puts MedBot's member into the one here, once", async () => {
    const home = tempHome();
    const paths = resolvePaths({ configPath: path.join(home, "config.json") }, {});
    onboard(paths, {}, false, {});
    const added = await runMedbot(["family", "add", "妈妈", "--birth-date", "1959-11-03"], { home });
    expect(added.stdout).toBe("妈妈\n");
    const source = medbotWorkspace();
    const count = (sql: string) => {
      const check = openDatabase(paths.database);
      try {
        return (check.prepare(sql).get() as { n: number }).n;
      } finally {
        check.close();
      }
    };
    const audit = count("SELECT COUNT(*) AS n FROM audit_log");

    const refused = await runMedbot(["import-medbot", source], { home });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      '妈妈 (MedBot id member) looks like 妈妈 (id 妈妈): both are called "妈妈"',
    );
    expect(refused.stderr).toContain("e.g. --map member=妈妈.");
    expect(count("SELECT COUNT(*) AS n FROM audit_log")).toBe(audit);

    const mapped = await runMedbot(["import-medbot", source, "--map", "member=妈妈"], { home });
    expect(mapped.code).toBe(0);
    expect(mapped.stdout).toContain(
      "妈妈 (id 妈妈, MedBot's member, mapped into this member; profile kept): 13 facts, 3 symptoms",
    );
    const again = await runMedbot(["import-medbot", source, "--map", "member=妈妈", "--json"], { home });
    const report = JSON.parse(again.stdout) as { members: { imported: Record<string, number> }[] };
    expect(Object.values(report.members[0]!.imported).every((n) => n === 0)).toBe(true);
    expect(count("SELECT COUNT(*) AS n FROM members")).toBe(1);
    expect(count("SELECT COUNT(*) AS n FROM symptoms WHERE member_id = '妈妈'")).toBe(3);

    const malformed = await runMedbot(["import-medbot", source, "--map", "member"], { home });
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('--map "member" must be MEDBOT_ID=MEMBER or MEDBOT_ID=new.');
  });
});
