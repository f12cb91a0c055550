// Doctor's config checks: root, who may talk per channel, loopback gateway, the bridge token, risky tools.
import { describe, expect, it } from "vitest";
import { startupWarnings } from "../../src/access/allow-list.js";
import { configSchema } from "../../src/config/schema.js";
import {
  checkBridge,
  checkChannels,
  checkGateway,
  checkRootUser,
  checkTools,
  isLoopbackHost,
} from "../../src/doctor/doctor-config.js";

const config = (raw: Record<string, unknown>) => configSchema.parse(raw);
const ids = (findings: { id: string; severity: string }[]) => findings.map((f) => `${f.id}:${f.severity}`);
const TOKEN = "a".repeat(64);

describe("doctor: root", () => {
  it("is silent for an ordinary user", () => {
    expect(checkRootUser(1000, false)).toEqual([]);
  });

  it("is high as root, and still reported (medium) when root was allowed", () => {
    expect(ids(checkRootUser(0, false))).toEqual(["root:high"]);
    const allowed = checkRootUser(0, true);
    expect(ids(allowed)).toEqual(["root:medium"]);
    expect(allowed[0]?.what).toMatch(/allowed by --allow-root/);
  });
});

describe("doctor: channels", () => {
  it("is silent for an enabled channel with an explicit allow-list and for disabled channels", () => {
    const ok = config({
      channels: { telegram: { enabled: true, allowFrom: ["123"] }, email: { allowFrom: ["*"] } },
    });
    expect(checkChannels(ok)).toEqual([]);
  });

  it("calls an enabled channel with an empty allowFrom useless (medium), naming the key", () => {
    const findings = checkChannels(config({ channels: { qq: { enabled: true } } }));
    expect(ids(findings)).toEqual(["channels.allowFrom:medium"]);
    expect(findings[0]?.what).toContain("channels.qq.allowFrom is empty");
  });

  it('flags "*" without openToEveryone as high, and reports an acknowledged "*" as low', () => {
    const open = checkChannels(config({ channels: { telegram: { enabled: true, allowFrom: ["*"] } } }));
    expect(ids(open)).toEqual(["channels.open:high"]);
    expect(open[0]?.fix).toContain("channels.telegram.openToEveryone");
    const acknowledged = checkChannels(
      config({ channels: { telegram: { enabled: true, allowFrom: ["*"], openToEveryone: true } } }),
    );
    expect(ids(acknowledged)).toEqual(["channels.open:low"]);
  });

  it('keeps the gateway quiet about an acknowledged "*" at start, which doctor still reports', () => {
    const open = (openToEveryone: boolean) =>
      config({ channels: { telegram: { enabled: true, allowFrom: ["*"], openToEveryone } } });
    expect(startupWarnings(open(false))).toEqual([
      'channels.telegram.allowFrom is "*": anyone who finds the bot can talk to it',
    ]);
    expect(startupWarnings(open(true))).toEqual([]);
    expect(checkChannels(open(true))).toHaveLength(1);
  });

  it("reports pairing as info, and an empty allowFrom with pairing is not a finding of its own", () => {
    const findings = checkChannels(
      config({ channels: { whatsapp: { enabled: true, dmPolicy: "pairing" } } }),
    );
    expect(ids(findings)).toEqual(["channels.allowFrom:info"]);
  });
});

describe("doctor: gateway", () => {
  it("is silent on loopback", () => {
    for (const host of ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"]) {
      expect(checkGateway(config({ gateway: { host } }))).toEqual([]);
    }
  });

  it("is high beyond loopback, medium when allowNonLoopback acknowledges it", () => {
    expect(ids(checkGateway(config({ gateway: { host: "0.0.0.0" } })))).toEqual(["gateway.loopback:high"]);
    expect(ids(checkGateway(config({ gateway: { host: "192.168.1.5", allowNonLoopback: true } })))).toEqual([
      "gateway.loopback:medium",
    ]);
  });

  it("does not take look-alikes for loopback", () => {
    for (const host of ["0.0.0.0", "::", "127.evil.test", "localhost.evil.test", "10.0.0.1", ""]) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });
});

describe("doctor: WhatsApp bridge", () => {
  const whatsapp = (settings: Record<string, unknown>) =>
    config({ channels: { whatsapp: { enabled: true, allowFrom: ["+491701234567"], ...settings } } });

  it("is silent for a bridge with a long token, and for a disabled channel", () => {
    expect(checkBridge(whatsapp({ bridgeToken: TOKEN }))).toEqual([]);
    expect(checkBridge(config({ channels: { whatsapp: { bridgeUrl: "ws://10.0.0.9:3001" } } }))).toEqual([]);
  });

  it("notes that a bridgeUrl (as MedBot configs carry) is ignored, whatever it says", () => {
    for (const bridgeUrl of ["ws://127.0.0.1:3001", "ws://10.0.0.9:3001", "not a url"]) {
      const findings = checkBridge(whatsapp({ bridgeToken: TOKEN, bridgeUrl }));
      expect(ids(findings)).toEqual(["bridge.url:info"]);
      expect(findings[0]?.what).toBe(`channels.whatsapp.bridgeUrl (${bridgeUrl}) is ignored.`);
      expect(findings[0]?.fix).toBe("Remove channels.whatsapp.bridgeUrl from config.json.");
    }
  });

  it("flags an empty or short token without showing it", () => {
    expect(ids(checkBridge(whatsapp({ bridgeToken: "" })))).toEqual(["bridge.token:high"]);
    const short = checkBridge(whatsapp({ bridgeToken: "hunter2hunter2" }));
    expect(ids(short)).toEqual(["bridge.token:high"]);
    expect(JSON.stringify(short)).not.toContain("hunter2hunter2");
  });
});

describe("doctor: tools", () => {
  it("is silent with the defaults (exec and web off, files restricted)", () => {
    expect(checkTools(config({}))).toEqual([]);
  });

  it("reports exec (owners only) and web when on, and file tools let out of the workspace", () => {
    const findings = checkTools(
      config({ tools: { exec: { enabled: true }, web: { enabled: true }, restrictToWorkspace: false } }),
    );
    expect(ids(findings)).toEqual([
      "tools.exec:medium",
      "tools.web:medium",
      "tools.restrictToWorkspace:medium",
    ]);
    expect(findings[0]?.what).toMatch(/owners only/);
  });

  it("lists the hosts web_fetch may reach, and none yet when allowHosts is empty", () => {
    const listed = checkTools(
      config({ tools: { web: { enabled: true, allowHosts: ["medlineplus.gov", "*.nhs.uk"] } } }),
    );
    expect(ids(listed)).toEqual(["tools.web:medium"]);
    expect(listed[0]?.what).toContain("tools.web.allowHosts: medlineplus.gov, *.nhs.uk.");
    const none = checkTools(config({ tools: { web: { enabled: true } } }));
    expect(none[0]?.what).toContain("tools.web.allowHosts: no host yet: every fetch is refused.");
  });

  it('flags "*" in tools.web.allowHosts as high, like "*" in allowFrom', () => {
    const findings = checkTools(config({ tools: { web: { enabled: true, allowHosts: ["*"] } } }));
    expect(ids(findings)).toEqual(["tools.web:medium", "tools.web.allowHosts:high"]);
    expect(findings[1]?.fix).toMatch(/Replace "\*"/);
  });
});
