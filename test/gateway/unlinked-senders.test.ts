// An allowed sender who is in no `people` entry: told they have not been given access to any member (not "no
// members are recorded"), without learning which members exist; the gateway names them once at start.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { PairingStore } from "../../src/access/pairing.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { openDatabase } from "../../src/storage/db.js";
import { FakeOpenAI, type RecordedRequest } from "../support/fake-openai.js";
import { FakeTelegram } from "../support/fake-telegram.js";
import { freePort, spawnGateway } from "../support/gateway-process.js";
import { gatewayTestScope } from "../support/gateway-scope.js";
import { fakeProviderConfig, runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

const MUM = { id: 701, first_name: "Mum" };
const BORIS = { id: 702, first_name: "Boris" };
const { processes, cleanups } = gatewayTestScope();

/** Tool results the model was given in a request. */
const toolResults = (request: RecordedRequest) =>
  request.body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");

describe("an allowed sender in no people entry", () => {
  it("is told to ask the owner (not that no members exist) and is named once in the gateway's start-up log", async () => {
    const telegram = await FakeTelegram.start();
    const model = await FakeOpenAI.start();
    cleanups.push(
      () => telegram.close(),
      () => model.close(),
    );
    // The model asks for dad's record and the member list, then answers with exactly what the tools said.
    model.onRequest((request) => {
      const results = toolResults(request);
      if (results.length > 0) return { content: results.join("\n---\n") };
      return {
        toolCalls: [
          { name: "family_record", arguments: { action: "show", member: "dad" } },
          { name: "family_record", arguments: { action: "members" } },
        ],
      };
    });
    const home = tempHome("medbot-unlinked-");
    cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
    writeConfig(home, {
      ...fakeProviderConfig(model.url),
      channels: {
        telegram: { ...telegram.channelConfig([String(MUM.id), String(BORIS.id)]), dmPolicy: "pairing" },
      },
      people: { mum: { identities: [`telegram:${MUM.id}`], members: "*" } },
      gateway: { port: await freePort() },
    });
    const workspace = path.join(home, "workspace");
    fs.mkdirSync(workspace, { recursive: true, mode: 0o700 });
    const db = openDatabase(path.join(workspace, "medbot.db"));
    new FamilyArchive(db).addMember(hostOwner(), { id: "dad", displayName: "Dad", aliases: ["爸爸"] });
    // A sender let in by pairing, also in no people entry.
    const pairing = new PairingStore(db);
    pairing.approve(pairing.codeFor("telegram", "703")!);
    db.close();

    const gateway = spawnGateway(home);
    processes.push(gateway);
    telegram.userSays(BORIS.id, BORIS, "how is dad's blood pressure?");
    await vi.waitFor(() => expect(telegram.sentTo(BORIS.id)).toHaveLength(1), {
      timeout: 20_000,
      interval: 20,
    });

    const [show, members] = String(telegram.sentTo(BORIS.id)[0]!.text).split("\n---\n");
    for (const result of [show, members]) {
      expect(result).toContain("has not been given access to any family member's record");
      expect(result).toContain("ask the household's owner");
      expect(result).not.toMatch(/No (family )?members are recorded/);
      expect(result).not.toMatch(/Dad|爸爸/);
    }

    gateway.child.kill("SIGTERM");
    expect(await gateway.exited).toBe(0);
    const log = gateway.log();
    const warned = (sender: string) =>
      log
        .split("\n")
        .filter((line) => line.includes(`${sender} may talk to medbot`) && line.includes('"level":40'));
    expect(warned(`telegram:${BORIS.id}`)).toHaveLength(1);
    expect(warned(`telegram:${BORIS.id}`)[0]).toContain("channels.telegram.allowFrom");
    expect(warned(`telegram:${BORIS.id}`)[0]).toContain("people.<name>.identities");
    expect(warned("telegram:703")).toHaveLength(1);
    expect(warned("telegram:703")[0]).toContain("a pairing approval");
    expect(warned(`telegram:${MUM.id}`)).toHaveLength(0);
  }, 40_000);
});

describe("medbot channels status and doctor", () => {
  /** A household: Mum is a person, 702 is only in allowFrom, 703 only approved by pairing, QQ disabled. */
  async function household(): Promise<string> {
    const home = tempHome("medbot-unlinked-cli-");
    cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
    writeConfig(home, {
      channels: {
        telegram: { enabled: true, token: "123:abc", allowFrom: ["701", "702"], dmPolicy: "pairing" },
        qq: { enabled: false, allowFrom: ["QQ-NOT-ENABLED"] },
      },
      people: { mum: { identities: ["telegram:701"], members: "*" } },
      gateway: { port: await freePort() },
    });
    const workspace = path.join(home, "workspace");
    fs.mkdirSync(workspace, { recursive: true, mode: 0o700 });
    const db = openDatabase(path.join(workspace, "medbot.db"));
    const pairing = new PairingStore(db);
    pairing.approve(pairing.codeFor("telegram", "703")!);
    db.close();
    return home;
  }

  it("channels status names them, in the text and in --json", async () => {
    const home = await household();

    const json = await runMedbot(["channels", "status", "--json"], { home });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).sendersWithoutPerson).toEqual([
      { sender: "telegram:702", channel: "telegram", via: "allowFrom" },
      { sender: "telegram:703", channel: "telegram", via: "pairing" },
    ]);

    const text = await runMedbot(["channels", "status"], { home });
    expect(text.code).toBe(0);
    expect(text.stderr).toContain(
      'medbot: telegram:702 may talk to medbot (channels.telegram.allowFrom) but is in no people entry, so they see no family member; add "telegram:702" to people.<name>.identities',
    );
    expect(text.stderr).toContain("medbot: telegram:703 may talk to medbot (a pairing approval)");
    expect(text.stderr).not.toContain("telegram:701");
    expect(text.stderr).not.toContain("QQ-NOT-ENABLED");
  });

  it("doctor reports each as a finding with the fix", async () => {
    const home = await household();
    const result = await runMedbot(["doctor", "--json"], { home });
    const findings = (
      JSON.parse(result.stdout).findings as { id: string; severity: string; what: string; fix: string }[]
    ).filter((f) => f.id === "people.unlinked");
    expect(findings.map((f) => [f.severity, f.what])).toEqual([
      [
        "medium",
        "telegram:702 may talk to medbot (channels.telegram.allowFrom) but is in no people entry, so they see no family member.",
      ],
      [
        "medium",
        "telegram:703 may talk to medbot (a pairing approval) but is in no people entry, so they see no family member.",
      ],
    ]);
    expect(findings[0]!.fix).toContain('add "telegram:702" to people.<name>.identities');
    expect(findings[1]!.fix).toContain("medbot pairing revoke telegram:703");
  });
});
