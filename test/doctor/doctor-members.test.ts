// Doctor's check for config keys still naming a member that `medbot family merge` or `remove` retired: each
// key is named with what to change; silent when none does, and without a database.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { mergeMembers, removeMember } from "../../src/archive/member-changes.js";
import { configSchema } from "../../src/config/schema.js";
import { checkRetiredMembers } from "../../src/doctor/doctor-members.js";
import { openDatabase } from "../../src/storage/db.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-doctor-members-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const config = configSchema.parse({
  channels: { telegram: { enabled: true, token: "123:abc", allowFrom: ["100"] } },
  people: { alice: { identities: ["telegram:100"], members: ["member", "grandpa"] } },
  reminders: { deliverTo: { member: ["telegram:100"] } },
});

describe("doctor: config naming a merged or removed member", () => {
  it("is silent without a database and while every named member answers", () => {
    const database = path.join(scratch, "quiet", "medbot.db");
    expect(checkRetiredMembers(config, { database })).toEqual([]);
    fs.mkdirSync(path.dirname(database));
    const db = openDatabase(database);
    new FamilyArchive(db).addMember(hostOwner(), { displayName: "妈妈", id: "member" });
    db.close();
    expect(checkRetiredMembers(config, { database })).toEqual([]);
  });

  it("names each key and what to change it to", () => {
    const database = path.join(scratch, "medbot.db");
    const db = openDatabase(database);
    const archive = new FamilyArchive(db);
    for (const [id, displayName] of [
      ["mum", "Mum"],
      ["member", "妈妈"],
      ["grandpa", "Grandpa"],
    ] as const)
      archive.addMember(hostOwner(), { id, displayName });
    mergeMembers(archive, hostOwner(), "member", "mum");
    removeMember(archive, hostOwner(), "grandpa");
    db.close();
    expect(checkRetiredMembers(config, { database }).map((f) => [f.id, f.severity, f.what, f.fix])).toEqual([
      [
        "config.retired-member",
        "medium",
        "people.alice.members names grandpa, which was removed.",
        "Remove grandpa from people.alice.members in config.json.",
      ],
      [
        "config.retired-member",
        "medium",
        "people.alice.members names member, which was merged into mum.",
        "Change member to mum at people.alice.members in config.json.",
      ],
      [
        "config.retired-member",
        "medium",
        "reminders.deliverTo.member names member, which was merged into mum.",
        "Change member to mum at reminders.deliverTo.member in config.json.",
      ],
    ]);
  });
});
