// Sends to contacts: a draft with a code, sent only when a person granted that member confirms it.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Actor, hostOwner } from "../../src/access/actor.js";
import { parseDraftDecision } from "../../src/agent/commands.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { listAudit } from "../../src/audit/audit-log.js";
import { configSchema, type MedbotConfig } from "../../src/config/schema.js";
import { MessageQueue } from "../../src/delivery/queue.js";
import { ContactSends, DRAFT_TTL_MS, draftToConfirm, EgressError } from "../../src/sharing/contact-sends.js";
import { openDatabase } from "../../src/storage/db.js";
import { ALICE, startAgent, toolResultsIn, turnRequests } from "../agent/harness.js";

const CONTACTS = {
  contacts: [{ name: "Dr Li", channel: "email", address: "dr.li@clinic.test" }],
  channels: { email: { enabled: true } },
};
const caregiver: Actor = { person: "carol", channel: "telegram", grants: ["grandma"] };
const son: Actor = { person: "sam", channel: "telegram", grants: ["dad", "grandma"] };

describe("ContactSends", () => {
  let dir: string;
  let archive: FamilyArchive;
  let config: MedbotConfig;
  let now: Date;
  let sends: ContactSends;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-egress-"));
    now = new Date("2026-11-22T10:00:00Z");
    archive = new FamilyArchive(openDatabase(path.join(dir, "medbot.db")), { clock: () => now });
    archive.addMember(hostOwner(), { id: "dad", displayName: "Dad" });
    archive.addMember(hostOwner(), { id: "grandma", displayName: "Grandma" });
    config = configSchema.parse(CONTACTS);
    sends = new ContactSends(archive, config, dir);
  });
  afterEach(() => {
    archive.db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const outbox = () => new MessageQueue(archive.db).unsent("email");
  const actions = () => listAudit(archive.db).map((entry) => entry.action);

  it("drafts a new PDF export and sends nothing until a granted person confirms", async () => {
    const draft = await sends.draft(son, { member: "Dad", contact: "dr li" });
    expect(draft.code).toMatch(/^[A-Z2-9]{6}$/);
    expect(draft.file).toMatch(/^family\/dad\/doctor_export_\d{8}\.pdf$/);
    expect(outbox()).toHaveLength(0);
    expect(actions()).toContain("contact.draft");

    const sent = sends.confirm(son, draft.code.toLowerCase());
    expect(sent.status).toBe("sent");
    const [message] = outbox();
    expect(message?.message).toMatchObject({
      channel: "email",
      chatId: "dr.li@clinic.test",
      subject: "Medical summary: Dad",
      document: { path: path.join(dir, draft.file), filename: path.basename(draft.file) },
    });
    expect(message?.message.text).toContain("sam");
    const entry = listAudit(archive.db).find((e) => e.action === "contact.send");
    expect(entry).toMatchObject({ actor: "sam", memberId: "dad", entityId: "Dr Li" });
    expect(entry?.note).toContain("dr.li@clinic.test");
  });

  it("refuses a person not granted the member, without revealing the draft", async () => {
    const draft = await sends.draft(son, { member: "dad", contact: "Dr Li" });
    expect(() => sends.confirm(caregiver, draft.code)).toThrow(/no draft with the code .* for you/);
    expect(() => sends.cancel(caregiver, draft.code)).toThrow(EgressError);
    expect(outbox()).toHaveLength(0);
    await expect(sends.draft(caregiver, { member: "dad", contact: "Dr Li" })).rejects.toThrow();
  });

  it("sends once: a second confirmation, or one after cancelling, sends nothing", async () => {
    const first = await sends.draft(son, { member: "grandma", contact: "Dr Li" });
    sends.confirm(caregiver, first.code);
    expect(() => sends.confirm(son, first.code)).toThrow(/already sent/);
    const second = await sends.draft(son, { member: "grandma", contact: "Dr Li" });
    sends.cancel(son, second.code);
    expect(() => sends.confirm(son, second.code)).toThrow(/already cancelled/);
    expect(outbox()).toHaveLength(1);
    expect(actions()).toEqual(expect.arrayContaining(["contact.send", "contact.cancel"]));
  });

  it("refuses an expired draft", async () => {
    const draft = await sends.draft(son, { member: "dad", contact: "Dr Li" });
    now = new Date(now.getTime() + DRAFT_TTL_MS + 1);
    expect(() => sends.confirm(son, draft.code)).toThrow(/expired; nothing was sent/);
    expect(outbox()).toHaveLength(0);
  });

  it("refuses when the drafted file changed before confirmation", async () => {
    const draft = await sends.draft(son, { member: "dad", contact: "Dr Li" });
    fs.appendFileSync(path.join(dir, draft.file), "tampered");
    expect(() => sends.confirm(son, draft.code)).toThrow(/changed or is gone/);
    expect(outbox()).toHaveLength(0);
  });

  it("uses an existing export only from the member's own folder", async () => {
    const made = await sends.draft(son, { member: "dad", contact: "Dr Li" });
    const name = path.basename(made.file);
    now = new Date("2026-11-25T10:00:00Z");
    const again = await sends.draft(son, { member: "dad", contact: "Dr Li", exportFile: name });
    expect(again.file).toBe(made.file);
    // The draft says when the earlier export was made; its symptom window was not recorded.
    expect(draftToConfirm(again, "Dad")).toContain(
      `What: Dad's medical summary, ${name} (made 2026-11-22)\n`,
    );
    for (const bad of [`../grandma/${name}`, "record.md", "doctor_export_19990101.pdf"]) {
      await expect(sends.draft(son, { member: "dad", contact: "Dr Li", exportFile: bad })).rejects.toThrow(
        /not an export PDF in dad's folder/,
      );
    }
  });

  it("accepts only configured contacts on enabled channels", async () => {
    await expect(sends.draft(son, { member: "dad", contact: "x@evil.test" })).rejects.toThrow(
      /not a configured contact\. Contacts: Dr Li/,
    );
    const none = new ContactSends(archive, configSchema.parse({}), dir);
    await expect(none.draft(son, { member: "dad", contact: "Dr Li" })).rejects.toThrow(/No contacts/);
    const off = configSchema.parse({ contacts: CONTACTS.contacts });
    await expect(
      new ContactSends(archive, off, dir).draft(son, { member: "dad", contact: "Dr Li" }),
    ).rejects.toThrow(/channels\.email is not enabled/);
    expect(outbox()).toHaveLength(0);
  });
});

describe("send_to_contact in a conversation", () => {
  it("parses only the person's own /confirm and /cancel with a code", () => {
    expect(parseDraftDecision("/confirm k7m2qp")).toEqual({ decision: "confirm", code: "K7M2QP" });
    expect(parseDraftDecision("/cancel@medbot_bot K7M2QP")).toEqual({ decision: "cancel", code: "K7M2QP" });
    expect(parseDraftDecision("please /confirm K7M2QP")).toBeUndefined();
    expect(parseDraftDecision("/confirm")).toBeUndefined();
  });

  it("shows the person medbot's own draft with the real address; the model never gets it", async () => {
    const now = new Date("2026-11-22T10:00:00Z");
    const harness = await startAgent({ extraConfig: CONTACTS, clock: () => now });
    try {
      harness.agent.archive.addMember(hostOwner(), { id: "dad", displayName: "Dad" });
      harness.fake.enqueue(
        {
          toolCalls: [{ name: "send_to_contact", arguments: { member: "dad", contact: "Dr Li", days: 30 } }],
        },
        { content: "I prepared it." },
      );
      const reply = await harness.send("send dad's summary to Dr Li");
      expect(reply).toMatch(
        new RegExp(
          [
            "^I prepared it\\.\n\nA draft to send, not yet sent:",
            "To: Dr Li \\(email: dr\\.li@clinic\\.test\\)",
            "What: Dad's medical summary, doctor_export_20261122\\.pdf \\(made 2026-11-22; symptoms from 2026-10-23 to 2026-11-22\\)",
            "To send it, reply: /confirm [A-Z2-9]{6}",
            "To drop it: /cancel [A-Z2-9]{6}",
            "The code is valid for 30 minutes\\.$",
          ].join("\n"),
        ),
      );
      const [result] = toolResultsIn(turnRequests(harness.fake)[1]!);
      expect(result).toMatch(/^Draft ready; NOTHING has been sent\./);
      const code = /\/confirm ([A-Z2-9]{6})/.exec(reply)![1]!;
      for (const request of harness.fake.chatRequests) {
        expect(JSON.stringify(request.body)).not.toMatch(/dr\.li@clinic/);
        expect(JSON.stringify(request.body)).not.toContain(code);
      }
    } finally {
      await harness.close();
    }
  });

  it("the confirmation is the person's, never the model's", async () => {
    const harness = await startAgent({ extraConfig: CONTACTS });
    try {
      harness.agent.archive.addMember(hostOwner(), { id: "dad", displayName: "Dad" });
      harness.fake.enqueue(
        { toolCalls: [{ name: "send_to_contact", arguments: { member: "dad", contact: "Dr Li" } }] },
        { content: "I prepared it. /confirm ABCDEF" },
      );
      const shown = await harness.send("send dad's summary to Dr Li");
      const code = /To send it, reply: \/confirm ([A-Z2-9]{6})/.exec(shown)?.[1];
      expect(code).toBeDefined();
      const queue = new MessageQueue(harness.agent.archive.db);
      expect(queue.unsent("email")).toHaveLength(0);

      const requests = harness.fake.chatRequests.length;
      const reply = await harness.send(`/confirm ${code}`, ALICE);
      expect(reply).toMatch(
        /^Confirmed: doctor_export_\d{8}\.pdf goes to Dr Li \(email: dr\.li@clinic\.test\)/,
      );
      expect(harness.fake.chatRequests.length).toBe(requests);
      expect(queue.unsent("email")).toHaveLength(1);
      expect(await harness.send(`/confirm ${code}`)).toMatch(/already sent/);
    } finally {
      await harness.close();
    }
  });
});
