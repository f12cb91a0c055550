// `medbot gateway` as a user runs it: Feishu and QQ against our fakes (both come up, an allowed person is
// answered in their chat, a stranger gets nothing), and WhatsApp with the real bridge it starts and stops.
import * as net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeFeishu, APP_ID as FEISHU_APP, APP_SECRET as FEISHU_SECRET } from "../support/fake-feishu.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { FakeQq, APP_ID as QQ_APP, APP_SECRET as QQ_SECRET } from "../support/fake-qq.js";
import { freePort, type GatewayProcess, health, spawnGateway } from "../support/gateway-process.js";
import { fakeProviderConfig, tempHome, writeConfig } from "../support/medbot-cli.js";

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
  it("starts its own bridge, reports WhatsApp not linked yet, and stops the bridge with it", async () => {
    const [gatewayPort, bridgePort, whatsappPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const home = tempHome("medbot-whatsapp-cli-");
    writeConfig(home, {
      ...fakeProviderConfig("http://127.0.0.1:9/v1"),
      channels: {
        whatsapp: {
          enabled: true,
          bridgeUrl: `ws://127.0.0.1:${bridgePort}`,
          bridgeToken: "t".repeat(43),
          allowFrom: ["+49 170 1234567"],
        },
      },
      gateway: { port: gatewayPort },
    });
    // baileys is pointed at a closed loopback port: nothing leaves the machine, and WhatsApp never opens.
    const gateway = spawnGateway(home, { MEDBOT_BRIDGE_WA_URL: `ws://127.0.0.1:${whatsappPort}/ws/chat` });
    running.push(gateway);
    await vi.waitFor(async () => expect(await portOpen(bridgePort)).toBe(true), {
      timeout: 30_000,
      interval: 100,
    });
    // Connected to its bridge, waiting for WhatsApp: not running (not linked) and not failed either.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await health(gatewayPort)).toMatchObject({ channels: { whatsapp: "starting" } });
    expect(gateway.log()).not.toMatch(/channel failed/);

    gateway.child.kill("SIGTERM");
    expect(await gateway.exited).toBe(0);
    await vi.waitFor(async () => expect(await portOpen(bridgePort)).toBe(false), { timeout: 5_000 });
  });
});

/** Whether something listens on 127.0.0.1:port. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
