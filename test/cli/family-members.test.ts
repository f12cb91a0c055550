// `medbot family rename | alias add | alias remove | merge | remove` through the real CLI on a real SQLite
// file: each change audited, history kept, views re-rendered, and nothing left pointing at a member who no
// longer answers.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { recordDose } from "../../src/archive/doses.js";
import { recordMetric } from "../../src/archive/metrics.js";
import { listAudit } from "../../src/audit/audit-log.js";
import { resolvePaths } from "../../src/config/paths.js";
import { onboard } from "../../src/setup/workspace.js";
import { openDatabase } from "../../src/storage/db.js";
import { runMedbot, tempHome } from "../support/medbot-cli.js";
import { medicationFields } from "../support/records.js";

const owner = hostOwner();

interface Instance {
  home: string;
  database: string;
  workspace: string;
  configFile: string;
}

/** An onboarded instance whose archive `fill` sets up in-process, views rendered by a first CLI run. */
function instance(fill: (archive: FamilyArchive) => void): Instance {
  const home = tempHome();
  const paths = resolvePaths({ configPath: path.join(home, "config.json") }, {});
  onboard(paths, {}, false, {});
  withArchive(paths.database, fill);
  return { home, database: paths.database, workspace: paths.workspace, configFile: paths.configFile };
}

function withArchive<T>(database: string, work: (archive: FamilyArchive) => T): T {
  const db = openDatabase(database);
  try {
    return work(new FamilyArchive(db));
  } finally {
    db.close();
  }
}

const fact = (text: string) => ({ category: "condition" as const, text, details: null, since: null });

/** 妈妈 twice: "Mum" entered here, and "妈妈" as an import brought her (MedBot's id "member"); and 爸爸. */
function household(archive: FamilyArchive): void {
  archive.addMember(owner, { displayName: "Mum", id: "mum", aliases: ["Mama"], relationship: "mother" });
  archive.addMember(owner, { displayName: "爸爸", aliases: ["Dad"], relationship: "father" });
  archive.addMember(owner, { displayName: "妈妈", id: "member", sex: "female", birthDate: "1959-11-03" });
  archive.add(owner, "mum", "facts", fact("hypothyroidism"), "confirmed");
  archive.add(owner, "member", "facts", fact("osteopenia"), "reported");
  const old = archive.add(owner, "member", "facts", fact("knee pain"), "reported").entry;
  archive.revise(
    owner,
    "member",
    "facts",
    old.id,
    { text: "knee arthritis" },
    { kind: "correct", reason: "x-ray" },
  );
  const symptom = { name: "cough", onset: "2026-03-12", ended: null, severity: null, notes: null };
  archive.add(owner, "member", "symptoms", symptom, "reported");
  archive.add(
    owner,
    "member",
    "medications",
    medicationFields({ name: "levothyroxine", dose: "50 mcg" }),
    "reported",
  );
  recordDose(archive, owner, "member", {
    medication: "levothyroxine",
    outcome: "taken",
    at: "2026-03-12T08:00",
  });
  recordMetric(archive, owner, "member", { kind: "weight", value: "61 kg", at: "2026-03-12T07:00" });
  archive.db
    .prepare(
      `INSERT INTO risk_findings (person, member_id, kind, subject, level, since, first_reported, last_reported)
       VALUES ('owner', 'member', 'trend', 'weight', 1, '2026-03-12', '2026-03-12', '2026-03-12')`,
    )
    .run();
}

/** Every table with a member_id column, and how many of its rows name `memberId`. */
function rowsNaming(database: string, memberId: string): Record<string, number> {
  return withArchive(database, ({ db }) => {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: string;
    }[];
    const found: Record<string, number> = {};
    for (const { name } of tables) {
      const columns = db.prepare(`PRAGMA table_info(${name})`).all() as { name: string }[];
      if (!columns.some((c) => c.name === "member_id")) continue;
      const n = (
        db.prepare(`SELECT COUNT(*) AS n FROM ${name} WHERE member_id = ?`).get(memberId) as { n: number }
      ).n;
      if (n > 0) found[name] = n;
    }
    return found;
  });
}

const lastLine = (text: string) => text.trim().split("\n").at(-1);
const view = (i: Instance, id: string) => path.join(i.workspace, "family", id, "record.md");

describe("medbot family rename", () => {
  it("changes the name, keeps the old one as an alias, audits it and re-renders the views", async () => {
    const i = instance(household);
    const result = await runMedbot(["family", "rename", "mum", "Helen Li"], { home: i.home });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('Renamed Mum to Helen Li (id mum); "Mum" is kept as an alias.\n');
    const shown = await runMedbot(["family", "show", "Mum"], { home: i.home });
    expect(shown.stdout.split("\n")[0]).toBe("Helen Li (id mum), also called Mama, Mum");
    expect(fs.readFileSync(view(i, "mum"), "utf8")).toContain("Helen Li");
    const audit = withArchive(i.database, ({ db }) =>
      listAudit(db, { memberId: "mum" }).map((e) => e.action),
    );
    expect(audit.at(-1)).toBe("member.rename");

    const dropped = await runMedbot(["family", "rename", "Helen Li", "Helen", "--drop-old-name"], {
      home: i.home,
    });
    expect(dropped.stdout).toBe("Renamed Helen Li to Helen (id mum); the old name was not kept.\n");
  });

  it("refuses a name that already means another member, changing nothing", async () => {
    const i = instance(household);
    const result = await runMedbot(["family", "rename", "mum", "dad"], { home: i.home });
    expect(result.code).toBe(1);
    expect(lastLine(result.stderr)).toBe(
      '"dad" already names 爸爸 (id 爸爸); a name or alias may mean one member only.',
    );
    expect(withArchive(i.database, (a) => a.member(owner, "mum").displayName)).toBe("Mum");
  });
});

describe("medbot family alias", () => {
  it("adds and removes an alias, each audited; an alias of another member is refused naming them", async () => {
    const i = instance(household);
    const added = await runMedbot(["family", "alias", "add", "mum", "Ma"], { home: i.home });
    expect(added.stdout).toBe("Mum (id mum) aliases: Mama, Ma\n");
    const taken = await runMedbot(["family", "alias", "add", "mum", "Dad"], { home: i.home });
    expect(taken.code).toBe(1);
    expect(lastLine(taken.stderr)).toMatch(/"Dad" already names 爸爸 \(id 爸爸\)/);
    const removed = await runMedbot(["family", "alias", "remove", "mum", "mama"], { home: i.home });
    expect(removed.stdout).toBe("Mum (id mum) aliases: Ma\n");
    const missing = await runMedbot(["family", "alias", "remove", "mum", "Mama"], { home: i.home });
    expect(lastLine(missing.stderr)).toBe('"Mama" is not an alias of Mum. Aliases: Ma.');
    const audit = withArchive(i.database, ({ db }) =>
      listAudit(db, { memberId: "mum" }).map((e) => e.action),
    );
    expect(audit.slice(-2)).toEqual(["member.alias.add", "member.alias.remove"]);
  });
});

describe("medbot family merge", () => {
  it("asks first; a no changes nothing", async () => {
    const i = instance(household);
    await runMedbot(["family", "rebuild-views"], { home: i.home });
    const before = rowsNaming(i.database, "member");
    const result = await runMedbot(["family", "merge", "妈妈", "mum"], { home: i.home, input: "no\n" });
    expect(result.code).toBe(1);
    expect(lastLine(result.stderr)).toBe("Not merged: nothing was changed.");
    expect(rowsNaming(i.database, "member")).toEqual(before);
  });

  it("moves everything of FROM into INTO with its history, keeps FROM marked merged, reports config keys", async () => {
    const i = instance(household);
    const config = JSON.parse(fs.readFileSync(i.configFile, "utf8"));
    config.people = { ann: { identities: ["telegram:42"], members: ["member", "mum"] } };
    config.reminders = { deliverTo: { member: ["telegram:42"] } };
    fs.writeFileSync(i.configFile, JSON.stringify(config, null, 2));
    const configBefore = fs.readFileSync(i.configFile, "utf8");
    await runMedbot(["family", "rebuild-views"], { home: i.home });
    expect(fs.existsSync(view(i, "member"))).toBe(true);

    const result = await runMedbot(["family", "merge", "妈妈", "mum"], { home: i.home, input: "yes\n" });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "Merged 妈妈 (id member) into Mum (id mum): moved 3 facts, 1 symptom events, 1 medications, 1 readings, 1 doses, 1 aliases.",
    );
    expect(result.stdout).toContain("Mum now also answers to: Mama, 妈妈.");
    expect(result.stdout).toContain(
      "config.json still names this member at people.ann.members, reminders.deliverTo.member: change member to mum there (medbot does not edit config.json).",
    );
    expect(fs.readFileSync(i.configFile, "utf8")).toBe(configBefore);

    // Only the audit log and the stamp saying it was merged still name the merged id.
    expect(rowsNaming(i.database, "member")).toEqual({ audit_log: 9, member_retirements: 1 });
    withArchive(i.database, (archive) => {
      const mum = archive.member(owner, "妈妈");
      expect(mum).toMatchObject({
        id: "mum",
        sex: "female",
        birthDate: "1959-11-03",
        aliases: ["Mama", "妈妈"],
      });
      expect(archive.current(owner, "mum", "facts").map((f) => f.text)).toEqual([
        "hypothyroidism",
        "osteopenia",
        "knee arthritis",
      ]);
      const corrected = archive.current(owner, "mum", "facts").find((f) => f.text === "knee arthritis")!;
      expect(archive.history(owner, "mum", "facts", corrected.id).map((f) => f.text)).toEqual([
        "knee pain",
        "knee arthritis",
      ]);
      expect(archive.members(owner).map((m) => m.id)).toEqual(["mum", "爸爸"]);
      const merged = archive.db
        .prepare("SELECT merged_into, removed_at FROM member_retirements WHERE member_id = 'member'")
        .get();
      expect(merged).toMatchObject({ merged_into: "mum", removed_at: expect.any(String) });
      const entries = listAudit(archive.db).filter((e) => e.action === "member.merge");
      expect(entries.map((e) => [e.memberId, e.entityId])).toEqual([
        ["mum", "member"],
        ["member", "mum"],
      ]);
    });
    expect(fs.existsSync(view(i, "member"))).toBe(false);
    expect(fs.existsSync(path.join(i.workspace, "family", "member"))).toBe(true);
    expect(fs.readFileSync(view(i, "mum"), "utf8")).toContain("osteopenia");
  });

  it("refuses merging a member into itself or an unknown member, changing nothing", async () => {
    const i = instance(household);
    const self = await runMedbot(["family", "merge", "mum", "Mama", "--yes"], { home: i.home });
    expect(lastLine(self.stderr)).toBe('"mum" and "Mama" are both Mum (id mum); nothing to merge.');
    const unknown = await runMedbot(["family", "merge", "Grandma", "mum", "--yes"], { home: i.home });
    expect(lastLine(unknown.stderr)).toMatch(/^No family member called "Grandma"/);
    expect(rowsNaming(i.database, "member").facts).toBe(3);
  });
});

describe("medbot family remove", () => {
  it("asks for the member's name; a wrong answer changes nothing", async () => {
    const i = instance(household);
    const result = await runMedbot(["family", "remove", "妈妈"], { home: i.home, input: "Mum\n" });
    expect(result.code).toBe(1);
    expect(lastLine(result.stderr)).toBe('Not removed: "Mum" is not 妈妈. Nothing was changed.');
    expect(withArchive(i.database, (a) => a.members(owner).length)).toBe(3);
  });

  it("marks the member and their entries removed, keeps history and audit, and the folder", async () => {
    const i = instance(household);
    await runMedbot(["family", "rebuild-views"], { home: i.home });
    const result = await runMedbot(["family", "remove", "member"], { home: i.home, input: "妈妈\n" });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Removed 妈妈 (id member): their entries are marked removed");
    withArchive(i.database, ({ db }) => {
      for (const table of ["facts", "symptoms", "medications", "metrics"]) {
        const current = table === "metrics" ? "" : " AND replaced_by IS NULL";
        const live = db
          .prepare(
            `SELECT COUNT(*) AS n FROM ${table} WHERE member_id = 'member' AND removed_at IS NULL${current}`,
          )
          .get() as { n: number };
        expect([table, live.n]).toEqual([table, 0]);
      }
      const stamped = db.prepare("SELECT removed_reason AS r FROM facts WHERE text = 'osteopenia'").get();
      expect(stamped).toEqual({ r: "member removed" });
      const actions = listAudit(db, { memberId: "member" }).map((e) => e.action);
      expect(actions[0]).toBe("member.add");
      expect(actions.at(-1)).toBe("member.remove");
    });
    expect(rowsNaming(i.database, "member")).not.toHaveProperty("risk_findings");
    expect(rowsNaming(i.database, "member")).not.toHaveProperty("stale_views");
    const show = await runMedbot(["family", "show", "妈妈"], { home: i.home });
    expect(lastLine(show.stderr)).toMatch(/^No family member called "妈妈"/);
    expect(fs.existsSync(view(i, "member"))).toBe(false);
    expect(fs.existsSync(path.join(i.workspace, "family", "member"))).toBe(true);

    const again = await runMedbot(["family", "remove", "member", "--yes"], { home: i.home });
    expect(again.code).toBe(1);
  });
});
