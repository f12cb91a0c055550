// `medbot gateway` as a user runs it: Feishu and QQ against our fakes (both come up, an allowed person is
// answered in their chat, a stranger gets nothing), and WhatsApp with the real bridge it starts and stops.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { probeSocket } from "../../src/bridge-protocol/socket.js";
import { bridgeFolders } from "../../src/channels/whatsapp-bridge-process.js";
import { FakeBridge } from "../support/fake-bridge.js";
import { FakeFeishu, APP_ID as FEISHU_APP, APP_SECRET as FEISHU_SECRET } from "../support/fake-feishu.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { FakeQq, APP_ID as QQ_APP, APP_SECRET as QQ_SECRET } from "../support/fake-qq.js";
import { freePort, type GatewayProcess, health, spawnGateway } from "../support/gateway-process.js";
import { fakeProviderConfig, MEDBOT_BIN, tempHome, writeConfig } from "../support/medbot-cli.js";

const ANNA_FEISHU = "ou_anna_0000000000000000000000000001";
const ANNA_CHAT = "oc_p2p_anna_000000000000000000000001";
const ANNA_QQ = "E4F4AEA33253A2797FB897C50B81D7ED";
const STRANGER_QQ = "F00DF00DF00DF00DF00DF00DF00DF00D";

const closing: Array<{ close(): Promise<void> }> = [];
const running: GatewayProcess[] = [];
afterEach(async () => {
  for (const gateway of running.splice(0)) if (gateway.child.exitCode === null) gateway.child.kill("SIGKILL");
  for (const fake of closing.splice(0)) await fake.close();
});

describe("medbot gateway with Feishu and QQ", () => {
  it("starts both channels, answers allowed people in their chats and ignores a stranger", async () => {
    const [feishu, qq, model] = await Promise.all([FakeFeishu.start(), FakeQq.start(), FakeOpenAI.start()]);
    closing.push(feishu, qq, model);
    model.onRequest(() => ({ content: "Noted." }));
    const port = await freePort();
    const home = tempHome("medbot-channels-cli-");
    writeConfig(home, {
      ...fakeProviderConfig(model.url),
      channels: {
        feishu: {
          enabled: true,
          appId: FEISHU_APP,
          appSecret: FEISHU_SECRET,
          domain: feishu.domain,
          allowFrom: [ANNA_FEISHU],
        },
        qq: {
          enabled: true,
          appId: QQ_APP,
          secret: QQ_SECRET,
          apiBase: qq.apiBase,
          tokenUrl: qq.tokenUrl,
          allowFrom: [ANNA_QQ],
        },
      },
      people: { anna: { identities: [`feishu:${ANNA_FEISHU}`, `qq:${ANNA_QQ}`], members: "*" } },
      gateway: { port },
    });
    const gateway = spawnGateway(home);
    running.push(gateway);
    await vi.waitFor(
      async () =>
        expect(await health(port)).toMatchObject({ channels: { feishu: "running", qq: "running" } }),
      { timeout: 20_000, interval: 50 },
    );

    feishu.userSays({ chatId: ANNA_CHAT, senderOpenId: ANNA_FEISHU, text: "Mum's BP was 128/82" });
    qq.userSays(ANNA_QQ, "Dad took his evening dose");
    qq.userSays(STRANGER_QQ, "send me everything");
    await vi.waitFor(
      () => {
        expect(feishu.sentTo(ANNA_CHAT).map((m) => m.text)).toEqual(["Noted."]);
        expect(qq.textsTo(ANNA_QQ)).toEqual(["Noted."]);
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(qq.textsTo(STRANGER_QQ)).toEqual([]);
    expect(model.chatRequests).toHaveLength(2);

    gateway.child.kill("SIGTERM");
    expect(await gateway.exited).toBe(0);
  });
});

describe("medbot gateway with WhatsApp", () => {
  it("starts its own bridge on the private socket, reports WhatsApp not linked yet, and stops the bridge with it", async () => {
    const [gatewayPort, whatsappPort] = await Promise.all([freePort(), freePort()]);
    const home = tempHome("medbot-whatsapp-cli-");
    const { socketPath } = bridgeFolders(home);
    writeConfig(home, {
      ...fakeProviderConfig("http://127.0.0.1:9/v1"),
      channels: {
        whatsapp: {
          enabled: true,
          bridgeToken: "t".repeat(43),
          allowFrom: ["+49 170 1234567"],
        },
      },
      gateway: { port: gatewayPort },
    });
    // baileys is pointed at a closed loopback port: nothing leaves the machine, and WhatsApp never opens.
    const gateway = spawnGateway(home, { MEDBOT_BRIDGE_WA_URL: `ws://127.0.0.1:${whatsappPort}/ws/chat` });
    running.push(gateway);
    await vi.waitFor(async () => expect(await probeSocket(socketPath)).toBe("listening"), {
      timeout: 30_000,
      interval: 100,
    });
    // Connected to its bridge, waiting for WhatsApp: not running (not linked) and not failed either.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await health(gatewayPort)).toMatchObject({ channels: { whatsapp: "starting" } });
    expect(gateway.log()).not.toMatch(/channel failed/);

    gateway.child.kill("SIGTERM");
    expect(await gateway.exited).toBe(0);
    await vi.waitFor(() => expect(fs.existsSync(socketPath)).toBe(false), { timeout: 5_000 });
  });
});

describe("medbot channels login whatsapp", () => {
  it("runs the bridge on the private socket, connects to it, and stops it on Ctrl-C", async () => {
    const home = tempHome("medbot-login-");
    const { socketPath } = bridgeFolders(home);
    // A MedBot config's bridgeUrl is accepted and ignored.
    writeConfig(home, { channels: { whatsapp: { enabled: true, bridgeUrl: "ws://127.0.0.1:3001" } } });
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("MEDBOT_")));
    const whatsappPort = await freePort();
    const login = spawn(MEDBOT_BIN, ["channels", "login", "whatsapp"], {
      env: {
        ...env,
        MEDBOT_HOME: home,
        MEDBOT_ALLOW_ROOT: "1",
        MEDBOT_BRIDGE_WA_URL: `ws://127.0.0.1:${whatsappPort}/ws/chat`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    login.stderr.on("data", (data: Buffer) => {
      output += data.toString();
    });
    login.stdout.on("data", (data: Buffer) => {
      output += data.toString();
    });
    const exited = new Promise<number | null>((resolve) => login.on("exit", (code) => resolve(code)));
    try {
      // The bridge it started (its output goes to the terminal) says the login command authenticated.
      await vi.waitFor(() => expect(output).toContain("gateway connected to the bridge"), {
        timeout: 30_000,
        interval: 100,
      });
      expect(await probeSocket(socketPath)).toBe("listening");
      expect(fs.lstatSync(socketPath).mode & 0o777).toBe(0o600);
      login.kill("SIGINT");
      expect(await exited).toBe(130);
      expect(output).toContain("Stopped; WhatsApp is not linked.");
      expect(fs.existsSync(socketPath)).toBe(false);
    } finally {
      login.kill("SIGKILL");
    }
  });
});

describe("the WhatsApp bridge link cannot be squatted", () => {
  const DAD = "491701234567";
  const token = "t".repeat(43);

  /** A gateway whose model would answer Dad with his reading, if anyone got to ask. */
  async function dadsGateway(home: string, whatsapp: Record<string, unknown> = {}) {
    const [model, gatewayPort, whatsappPort] = await Promise.all([
      FakeOpenAI.start(),
      freePort(),
      freePort(),
    ]);
    closing.push(model);
    model.onRequest(() => ({ content: "Dad's BP this morning: 152/96." }));
    writeConfig(home, {
      ...fakeProviderConfig(model.url),
      channels: { whatsapp: { enabled: true, bridgeToken: token, allowFrom: [DAD], ...whatsapp } },
      people: { dad: { identities: [`whatsapp:${DAD}`], members: "*" } },
      gateway: { port: gatewayPort },
    });
    // baileys is pointed at a closed loopback port: nothing leaves the machine, and WhatsApp never opens.
    const gateway = spawnGateway(home, { MEDBOT_BRIDGE_WA_URL: `ws://127.0.0.1:${whatsappPort}/ws/chat` });
    running.push(gateway);
    return { gateway, gatewayPort, model };
  }

  it("a process holding the old bridge port learns no token and gets no message; the real bridge is used", async () => {
    const squatter = await FakeBridge.start({ acceptAnyToken: true });
    closing.push(squatter);
    const home = tempHome("medbot-squat-tcp-");
    const { gateway, gatewayPort, model } = await dadsGateway(home, { bridgeUrl: squatter.url });
    // The channel is up once it authenticated to a bridge (whichever one it found).
    await vi.waitFor(() => expect(gateway.log()).toMatch(/"channel":"whatsapp","msg":"channel running"/), {
      timeout: 30_000,
      interval: 100,
    });
    // The squatter plays Dad asking for his readings.
    squatter.userSays({ senderNumber: DAD, text: "what was my blood pressure?" });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(squatter.connections).toBe(0);
    expect(squatter.authTokens).toEqual([]);
    expect(squatter.received).toEqual([]);
    expect(model.chatRequests).toHaveLength(0);
    // Connected to its own bridge on the socket, waiting for WhatsApp to be linked.
    expect(await health(gatewayPort)).toMatchObject({ channels: { whatsapp: "starting" } });
    const { socketPath: socket } = bridgeFolders(home);
    expect(fs.lstatSync(socket).isSocket()).toBe(true);
    expect(fs.lstatSync(socket).mode & 0o777).toBe(0o600);
    expect(fs.lstatSync(path.dirname(socket)).mode & 0o777).toBe(0o700);

    gateway.child.kill("SIGTERM");
    expect(await gateway.exited).toBe(0);
    // The bridge stopped with the gateway and took its socket with it.
    expect(fs.existsSync(socket)).toBe(false);
  });

  it("a socket planted in a socket folder others can write gets no token; the channel fails saying why", async () => {
    const home = tempHome("medbot-squat-sock-");
    const folder = path.dirname(bridgeFolders(home).socketPath);
    fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
    fs.chmodSync(folder, 0o777);
    const squatter = await FakeBridge.start({
      socketPath: path.join(folder, "bridge.sock"),
      acceptAnyToken: true,
    });
    closing.push(squatter);
    const { gateway, gatewayPort, model } = await dadsGateway(home);
    await vi.waitFor(() => expect(gateway.log()).toMatch(/"channel":"whatsapp".*channel failed to start/), {
      timeout: 30_000,
      interval: 100,
    });
    expect(gateway.log()).toMatch(/run\/whatsapp is 0777[^"]*must be 0700/);
    await vi.waitFor(
      async () => expect(await health(gatewayPort)).toMatchObject({ channels: { whatsapp: "failed" } }),
      {
        timeout: 5_000,
        interval: 50,
      },
    );
    squatter.userSays({ senderNumber: DAD, text: "what was my blood pressure?" });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(squatter.connections).toBe(0);
    expect(squatter.authTokens).toEqual([]);
    expect(model.chatRequests).toHaveLength(0);
    gateway.child.kill("SIGTERM");
    expect(await gateway.exited).toBe(0);
  });
});
