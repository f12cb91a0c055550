// A confirmed send to a clinician, end to end: the draft's export PDF leaves through the gateway's outbox
// and the real email adapter, arriving over Postfix and Dovecot as a new mail with the PDF attached.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { EmailAdapter } from "../../src/channels/email.js";
import { configSchema } from "../../src/config/schema.js";
import { Gateway } from "../../src/gateway/gateway.js";
import { silentLogger } from "../../src/log.js";
import { ContactSends } from "../../src/sharing/contact-sends.js";
import { openDatabase } from "../../src/storage/db.js";
import { bobAlias, emailConfig, freshMailbox, mailsTo, startMailServer } from "../support/mail.js";
import { ScriptedAgent, SETTINGS, STUB_GATE, tempDatabaseFile } from "./harness.js";

const available = await startMailServer();

describe.skipIf(!available)("sending an export to a contact by email", () => {
  let gateway: Gateway | undefined;
  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
  });

  it("sends nothing before /confirm, then the drafted PDF once, as a new mail to the contact", async () => {
    const file = tempDatabaseFile();
    const workspace = path.dirname(file);
    const archive = new FamilyArchive(openDatabase(file));
    archive.addMember(hostOwner(), { id: "dad", displayName: "Dad" });
    const doctor = bobAlias();
    const config = configSchema.parse({
      contacts: [{ name: "Dr Li", channel: "email", address: doctor }],
      channels: { email: { enabled: true } },
    });
    const sends = new ContactSends(archive, config, workspace);
    const son = { person: "sam", channel: "telegram", grants: ["dad"] };
    const draft = await sends.draft(son, { member: "dad", contact: "Dr Li" });

    gateway = new Gateway({
      settings: SETTINGS,
      db: archive.db,
      agent: new ScriptedAgent(),
      gate: STUB_GATE,
      channels: [new EmailAdapter(emailConfig(await freshMailbox()), { pollIntervalMs: 200, backoffMs: 50 })],
      logger: silentLogger(),
      watchIntervalMs: 50,
    });
    await gateway.start();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await mailsTo(doctor)).toHaveLength(0);

    sends.confirm(son, draft.code);
    const mails = await vi.waitFor(
      async () => {
        const arrived = await mailsTo(doctor);
        expect(arrived).toHaveLength(1);
        return arrived;
      },
      { timeout: 15_000, interval: 100 },
    );
    const [mail] = mails;
    expect(mail?.subject).toBe("Medical summary: Dad");
    expect(mail?.inReplyTo).toBeUndefined();
    expect(mail?.text).toContain("Dear Dr Li");
    expect(mail?.attachments).toHaveLength(1);
    expect(mail?.attachments[0]?.filename).toBe(path.basename(draft.file));
    expect(mail?.attachments[0]?.content.equals(fs.readFileSync(path.join(workspace, draft.file)))).toBe(
      true,
    );
    expect(gateway.queue.counts().unsent).toBe(0);
  });
});
