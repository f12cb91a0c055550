// Who may receive scheduled sends (cron jobs, reminders, the heartbeat): an enabled channel, admitted by its
// allow-list or by pairing, and the direct chat of a person in `people`. Checked on a real database, since
// pairing approvals live there and can be revoked while the gateway runs.
import { beforeEach, describe, expect, it } from "vitest";
import { PairingStore } from "../../src/access/pairing.js";
import {
  configuredTargetRefusals,
  scheduledChatRefusal,
  scheduleRefusal,
} from "../../src/access/scheduled-chats.js";
import { configSchema } from "../../src/config/schema.js";
import { type Db, openDatabase } from "../../src/storage/db.js";

const config = configSchema.parse({
  channels: {
    telegram: { enabled: true, token: "t", allowFrom: ["100", "999"] },
    email: { enabled: false, allowFrom: ["Ann@Example.org"] },
    feishu: { enabled: true, appId: "a", appSecret: "s", dmPolicy: "pairing" },
    whatsapp: { enabled: true, allowFrom: ["+49 170 1234567"] },
  },
  people: {
    alice: { identities: ["telegram:100", "whatsapp:491701234567"], members: ["mum"] },
    dave: { identities: ["telegram:300", "feishu:ou_dave"], members: ["dad"] },
    ann: { identities: ["email:ann@example.org"], members: "*" },
  },
});

let db: Db;
beforeEach(() => {
  db = openDatabase(":memory:");
});

const refusal = (channel: "telegram" | "email" | "feishu" | "whatsapp", chatId: string) =>
  scheduledChatRefusal(config, db, { channel, chatId });

describe("scheduledChatRefusal", () => {
  it("admits a person's direct chat on an enabled channel that lets them in", () => {
    expect(refusal("telegram", "100")).toBeUndefined();
    expect(refusal("whatsapp", "491701234567@s.whatsapp.net")).toBeUndefined();
  });

  it("refuses a chat on a disabled channel, whoever it is", () => {
    expect(refusal("email", "ann@example.org")).toBe("channel email is not enabled (channels.email.enabled)");
  });

  it("refuses a person's chat that allowFrom does not admit", () => {
    expect(refusal("telegram", "300")).toBe("telegram:300 is not in channels.telegram.allowFrom");
  });

  it("refuses an admitted chat that is nobody's identity (a stranger or a group)", () => {
    expect(refusal("telegram", "999")).toBe("telegram:999 is no person's identity in people");
    expect(refusal("telegram", "-100200300")).toBe("telegram:-100200300 is no person's identity in people");
  });

  it("on a pairing channel admits an approved sender, and not once revoked", () => {
    expect(refusal("feishu", "ou_dave")).toBe(
      "feishu:ou_dave is neither in channels.feishu.allowFrom nor approved by pairing",
    );
    const pairing = new PairingStore(db);
    pairing.approve(pairing.codeFor("feishu", "ou_dave")!);
    expect(refusal("feishu", "ou_dave")).toBeUndefined();
    pairing.revoke("feishu:ou_dave");
    expect(refusal("feishu", "ou_dave")).toMatch(/nor approved by pairing/);
  });

  it("says, when adding, what the owner can do", () => {
    expect(scheduleRefusal(config, db, { channel: "telegram", chatId: "999" })).toBe(
      'telegram:999 may not receive scheduled messages: telegram:999 is no person\'s identity in people. Schedule only to the direct chat of a person in "people" whom the enabled channel lets in.',
    );
  });
});

describe("configuredTargetRefusals", () => {
  it("names the heartbeat target and reminder chats that would be held, and nothing when all may receive", () => {
    const withTargets = (heartbeat: Record<string, unknown>, deliverTo: Record<string, string[]>) =>
      configSchema.parse({ ...config, heartbeat, reminders: { deliverTo } });
    expect(
      configuredTargetRefusals(
        withTargets({ enabled: true, target: "telegram:100" }, { mum: ["telegram:100"] }),
        db,
      ),
    ).toEqual([]);
    expect(
      configuredTargetRefusals(
        withTargets(
          { enabled: true, target: "telegram:300" },
          { dad: ["telegram:300", "email:ann@example.org"] },
        ),
        db,
      ),
    ).toEqual([
      "heartbeat.target: telegram:300 may not receive scheduled messages: telegram:300 is not in channels.telegram.allowFrom; they are held, not sent",
      "reminders.deliverTo.dad: telegram:300 may not receive scheduled messages: telegram:300 is not in channels.telegram.allowFrom; they are held, not sent",
      "reminders.deliverTo.dad: email:ann@example.org may not receive scheduled messages: channel email is not enabled (channels.email.enabled); they are held, not sent",
    ]);
  });
});
