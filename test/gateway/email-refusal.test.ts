// A refused mail is never silent, end to end: the real gateway with the real access gate and SQLite file,
// the real email adapter reading Dovecot, mail arriving through Postfix. A forged mail "from" an allowed
// address and a stranger's mail each leave an access.denied audit entry with the reason (no content), an
// info log line, a count in `medbot channels status`, one plain explanation per sender at warn level, and
// `medbot doctor` says no mail was proven yet; a DKIM-signed mail then gets in and the hint goes away.
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createAccessGate, isAllowedSender } from "../../src/access/gate.js";
import { listAudit } from "../../src/audit/audit-log.js";
import { EmailAdapter } from "../../src/channels/email.js";
import { emailAuthStateFile } from "../../src/channels/email-auth-state.js";
import { resolvePaths } from "../../src/config/paths.js";
import { configSchema } from "../../src/config/schema.js";
import { runDoctor } from "../../src/doctor/doctor.js";
import { Gateway } from "../../src/gateway/gateway.js";
import { openDatabase } from "../../src/storage/db.js";
import { dkimTestKey, fakeResolver, signingDomainRecords } from "../support/dkim.js";
import { freePort } from "../support/gateway-process.js";
import {
  composedMail,
  emailConfig,
  freshMailbox,
  sendThroughServer,
  startMailServer,
} from "../support/mail.js";
import { runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";
import { ScriptedAgent, SETTINGS } from "./harness.js";

const BOB = "bob@example.test";
const MALLORY = "mallory@elsewhere.test";
const SECRET_TEXT = "stop taking your BP pills";
const SECRET_SUBJECT = "new plan from Dr Li";
const ARRIVAL = { timeout: 15_000, interval: 100 };

const available = await startMailServer();

describe.skipIf(!available)("a refused mail through the gateway", () => {
  let gateway: Gateway | undefined;
  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
  });

  it("is audited, logged, counted and explained once per sender; doctor hints until a mail is proven", async () => {
    const home = tempHome("medbot-email-refusal-");
    const port = await freePort();
    const mailbox = await freshMailbox();
    const email = { ...emailConfig(mailbox), allowFrom: [BOB] };
    const configFile = writeConfig(home, { channels: { email }, gateway: { port } });
    const config = configSchema.parse({ channels: { email }, gateway: { port } });
    const db = openDatabase(resolvePaths({ configPath: configFile }).database);
    const key = dkimTestKey();
    const resolver = fakeResolver(signingDomainRecords("example.test", "medbot", key.publicKeyBase64));
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const logger = pino({ level: "info" }, sink);
    const adapter = new EmailAdapter(
      email,
      { pollIntervalMs: 200, backoffMs: 50 },
      { resolver, logger, authStateFile: emailAuthStateFile(home) },
    );
    const agent = new ScriptedAgent();
    gateway = new Gateway({
      settings: { ...SETTINGS, port },
      db,
      agent,
      gate: createAccessGate(config, db),
      // As medbot gateway wires it: the question before a download writes nothing.
      mayInteract: (message) => isAllowedSender(config, db, message),
      channels: [adapter],
      logger,
      watchIntervalMs: 50,
    });
    await gateway.start();

    const forged = await composedMail({
      from: BOB,
      subject: SECRET_SUBJECT,
      text: SECRET_TEXT,
      headers: { "Authentication-Results": "mail.example.test; spf=pass smtp.mailfrom=bob@example.test" },
    });
    await sendThroughServer(mailbox, forged, BOB);
    await sendThroughServer(
      mailbox,
      forged.replace(/Message-ID: <[^>]+>/, "Message-ID: <second@x.test>"),
      BOB,
    );
    await sendThroughServer(
      mailbox,
      await composedMail({ from: MALLORY, subject: SECRET_SUBJECT, text: SECRET_TEXT }),
      MALLORY,
    );
    await vi.waitFor(() => expect(gateway?.report().refused).toEqual({ email: 3 }), ARRIVAL);
    expect(agent.calls).toEqual([]);

    const denied = listAudit(db).filter((entry) => entry.action === "access.denied");
    expect(denied.map((entry) => [entry.entityId, entry.note])).toEqual(
      expect.arrayContaining([
        [BOB, expect.stringMatching(/^email: its sender is not proven: no DKIM signature/)],
        [MALLORY, "email: the sender is not in channels.email.allowFrom"],
      ]),
    );
    expect(denied).toHaveLength(2); // Bob's second refusal within the minute is not audited again.

    const refusedLines = lines.filter((line) => line.msg === "message refused");
    expect(refusedLines).toHaveLength(3);
    expect(refusedLines.map((line) => line.senderDomain).sort()).toEqual([
      "elsewhere.test",
      "example.test",
      "example.test",
    ]);
    const explanations = lines.filter((line) => line.level === 40).map((line) => String(line.msg));
    expect(explanations).toHaveLength(2);
    expect(explanations).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^mail from bob@example\.test was refused because its sender is not proven: .*; to let it in, the sender's provider must sign/,
        ),
        expect.stringMatching(
          /^mail from mallory@elsewhere\.test was refused .*; to let it in, add mallory@elsewhere\.test to channels\.email\.allowFrom/,
        ),
      ]),
    );
    const everything = JSON.stringify([lines, listAudit(db)]);
    expect(everything).not.toContain("BP pills");
    expect(everything).not.toContain(SECRET_SUBJECT);

    const status = await runMedbot(["channels", "status", "--json"], { home });
    expect(JSON.parse(status.stdout).channels).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: "email", live: "running", refused: 3 })]),
    );
    const text = await runMedbot(["channels", "status"], { home });
    expect(text.stdout).toMatch(/^email .*running, 3 refused since start/m);

    const before = await runDoctor({ configPath: configFile, env: {} });
    const hint = before.findings.find((finding) => finding.id === "email.auth.unverified");
    expect(hint?.what).toMatch(/no DKIM signature/);
    expect(hint?.fix).toMatch(/DKIM.*authservId/);

    const signed = await composedMail(
      { from: BOB, subject: "BP", text: "128/82 this morning" },
      { domainName: "example.test", keySelector: "medbot", privateKey: key.privateKey },
    );
    await sendThroughServer(mailbox, signed, BOB);
    await vi.waitFor(
      () => expect(agent.calls.map((call) => call.text)).toEqual(["Subject: BP\n\n128/82 this morning"]),
      ARRIVAL,
    );
    const after = await runDoctor({ configPath: configFile, env: {} });
    expect(after.findings.map((finding) => finding.id)).not.toContain("email.auth.unverified");
  });
});
