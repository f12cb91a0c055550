// `medbot family add|list|show|review`: members and their records from the command line, with the ids
// people use to confirm or reject what was recorded; bad input is refused naming the flag, storing nothing.
import * as path from "node:path";
import stringWidth from "string-width";
import { beforeAll, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { getEntry } from "../../src/archive/entries.js";
import { recordMetric } from "../../src/archive/metrics.js";
import { resolvePaths } from "../../src/config/paths.js";
import { onboard } from "../../src/setup/workspace.js";
import { openDatabase } from "../../src/storage/db.js";
import { runMedbot, tempHome } from "../support/medbot-cli.js";

const owner = hostOwner();

/** An onboarded instance; `fill` adds to its archive in-process (no child run). */
function instance(fill?: (archive: FamilyArchive) => void): { home: string; database: string } {
  const home = tempHome();
  const paths = resolvePaths({ configPath: path.join(home, "config.json") }, {});
  onboard(paths, {}, false, {});
  if (fill) withArchive(paths.database, fill);
  return { home, database: paths.database };
}

function withArchive<T>(database: string, work: (archive: FamilyArchive) => T): T {
  const db = openDatabase(database);
  try {
    return work(new FamilyArchive(db));
  } finally {
    db.close();
  }
}

const memberCount = (database: string) => withArchive(database, (a) => a.members(owner).length);

/** Mum with a confirmed and an unreviewed fact, a reported symptom and a reading; Dad with a fact. */
function household(archive: FamilyArchive): void {
  archive.addMember(owner, { displayName: "Mum", id: "mum", relationship: "mother", aliases: ["Mama"] });
  archive.addMember(owner, { displayName: "爸爸", aliases: ["Dad"], relationship: "father" });
  const fact = (text: string) => ({ category: "condition" as const, text, details: null, since: null });
  archive.add(owner, "mum", "facts", fact("hypothyroidism"), "confirmed");
  archive.add(owner, "mum", "facts", { ...fact("penicillin"), category: "drug_allergy" }, "unreviewed");
  archive.add(
    owner,
    "mum",
    "symptoms",
    { name: "cough", onset: "2026-03-12", ended: null, severity: null, notes: null },
    "reported",
  );
  recordMetric(archive, owner, "mum", { kind: "bp", value: "132/84", at: "2026-03-12T08:00" });
  archive.add(owner, "爸爸", "facts", fact("hypertension"), "reported");
}

describe("medbot family add", () => {
  it("adds a member with every profile field and prints the id", async () => {
    const { home, database } = instance();
    const result = await runMedbot(
      [
        "family",
        "add",
        "爷爷",
        "--relation",
        "grandfather",
        "--alias",
        "Grandpa",
        "--alias",
        "Opa",
        "--sex",
        "Male",
        "--birth-date",
        "1940-02-29",
        "--blood-type",
        "ab-",
        "--timezone",
        "Asia/Shanghai",
      ],
      { home },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("爷爷\n");
    const member = withArchive(database, (a) => a.member(owner, "grandpa"));
    expect(member).toEqual({
      id: "爷爷",
      displayName: "爷爷",
      relationship: "grandfather",
      sex: "male",
      birthDate: "1940-02-29",
      bloodType: "AB-",
      emergencyContact: null,
      timezone: "Asia/Shanghai",
      aliases: ["Grandpa", "Opa"],
    });
  });

  it.each([
    [["--birth-date", "2999-01-01"], /^--birth-date 2999-01-01 is in the future/],
    [["--birth-date", "1970-02-30"], /^--birth-date "1970-02-30" is not a real date/],
    [["--timezone", "Mars/Olympus"], /^--timezone "Mars\/Olympus" is not an IANA time zone/],
    [["--blood-type", "C+"], /^--blood-type "C\+" must be A, B, AB or O followed by \+ or -/],
    [["--sex", "robot"], /^--sex "robot" must be female, male or other/],
    [["--id", "mum"], /^--id "mum" is already the id of Mum/],
  ])("refuses %j naming the flag, and stores nothing", async (flags, message) => {
    const { home, database } = instance((a) => a.addMember(owner, { displayName: "Mum", id: "mum" }));
    const result = await runMedbot(["family", "add", "Grandma", ...flags], { home });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n").at(-1)).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(memberCount(database)).toBe(1);
  });
});

describe("medbot family list and show", () => {
  let home: string;
  beforeAll(() => {
    home = instance(household).home;
  });

  it("list --json gives each member's counts and what awaits review", async () => {
    const result = await runMedbot(["family", "list", "--json"], { home });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      {
        id: "mum",
        displayName: "Mum",
        relationship: "mother",
        aliases: ["Mama"],
        counts: { facts: 2, symptoms: 1, medications: 0, metrics: 1, awaitingReview: 3 },
      },
      {
        id: "爸爸",
        displayName: "爸爸",
        relationship: "father",
        aliases: ["Dad"],
        counts: { facts: 1, symptoms: 0, medications: 0, metrics: 0, awaitingReview: 1 },
      },
    ]);
  });

  it("list aligns its columns by display width, so a CJK name does not shift its row", async () => {
    const result = await runMedbot(["family", "list"], { home });
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    const relationColumn = (line: string, relation: string) =>
      stringWidth(line.slice(0, line.indexOf(relation)));
    const mum = lines.find((line) => line.includes("mother"))!;
    const dad = lines.find((line) => line.includes("father"))!;
    expect(relationColumn(dad, "father")).toBe(relationColumn(mum, "mother"));
  });

  it("show finds a member by alias and lists the record with ids and statuses", async () => {
    const result = await runMedbot(["family", "show", "mama"], { home });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Mum (id mum), also called Mama");
    expect(result.stdout).toMatch(/Conditions:\n {2}fact:1 {2}hypothyroidism \[confirmed\]/);
    expect(result.stdout).toMatch(/Drug allergies:\n {2}fact:2 {2}penicillin \[unreviewed\]/);
    expect(result.stdout).toMatch(/symptom:1 {2}cough, from 2026-03-12 \[reported\]/);
    expect(result.stdout).toMatch(/metric:1 {2}blood pressure 132\/84 mmHg at 2026-03-12 08:00 \[reported\]/);
    expect(result.stdout).toContain("3 item(s) await review: medbot family review mum");
  });

  it("show --json and an ambiguous or unknown name", async () => {
    const json = await runMedbot(["family", "show", "dad", "--json"], { home });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      member: { id: "爸爸" },
      facts: { condition: [{ text: "hypertension", status: "reported" }] },
      counts: { awaitingReview: 1 },
    });
    const unknown = await runMedbot(["family", "show", "grandma"], { home });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split("\n").at(-1)).toBe(
      'No family member called "grandma". Members: Mum (id mum), 爸爸 (id 爸爸).',
    );
  });

  it("refuses an ambiguous name, listing the candidates", async () => {
    const { home: twoDads } = instance((a) => {
      a.addMember(owner, { displayName: "Grandpa Li", aliases: ["Dad"] });
      a.addMember(owner, { displayName: "Tom", aliases: ["dad"] });
    });
    const result = await runMedbot(["family", "show", "Dad"], { home: twoDads });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('"Dad" could be Grandpa Li (id grandpa-li), Tom (id tom)');
  });
});

describe("medbot family review", () => {
  it("lists what awaits review across members, with ids", async () => {
    const { home } = instance(household);
    const result = await runMedbot(["family", "review"], { home });
    expect(result.code).toBe(0);
    const ids = [...result.stdout.matchAll(/^ {2}(\S+) +(\S+):/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(ids).toEqual(["fact:2 Mum", "symptom:1 Mum", "metric:1 Mum", "fact:3 爸爸"]);
  });

  it("confirms and rejects by id, each one audited change", async () => {
    const { home, database } = instance(household);
    const confirm = await runMedbot(["family", "review", "mum", "--confirm", "fact:2"], { home });
    expect(confirm.stdout).toBe("Confirmed fact:2 in Mum's record.\n");
    const reject = await runMedbot(["family", "review", "--reject", "symptom:1"], { home });
    expect(reject.stdout).toBe("Rejected symptom:1 in Mum's record (removed; kept in its history).\n");
    const metric = await runMedbot(["family", "review", "--confirm", "metric:1"], { home });
    expect(metric.stdout).toBe("Confirmed metric:1 in Mum's record.\n");
    withArchive(database, (a) => {
      expect(getEntry(a.db, "facts", 2)?.status).toBe("confirmed");
      expect(getEntry(a.db, "symptoms", 1)?.removedReason).toBe("rejected in review");
      expect(a.db.prepare("SELECT status FROM metrics WHERE id = 1").get()).toEqual({ status: "confirmed" });
      const actions = a.db.prepare("SELECT action, channel FROM audit_log ORDER BY seq DESC LIMIT 3").all();
      expect(actions).toEqual([
        { action: "metric.confirm", channel: "cli" },
        { action: "symptom.remove", channel: "cli" },
        { action: "fact.confirm", channel: "cli" },
      ]);
    });
  });

  it("refuses another member's id, a bad id and both flags at once, changing nothing", async () => {
    const { home, database } = instance(household);
    const audited = () =>
      withArchive(database, (a) => a.db.prepare("SELECT COUNT(*) AS n FROM audit_log").get());
    const before = audited();
    const cases: [string[], string][] = [
      [["mum", "--confirm", "fact:3"], "There is no fact:3 in Mum's record."],
      [["--reject", "fact-3"], '--reject "fact-3" is not an item id: use one like fact:12'],
      [["--confirm", "fact:2", "--reject", "fact:2"], "Give either --confirm or --reject, not both."],
    ];
    for (const [args, message] of cases) {
      const result = await runMedbot(["family", "review", ...args], { home });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(message);
    }
    expect(audited()).toEqual(before);
  });
});
