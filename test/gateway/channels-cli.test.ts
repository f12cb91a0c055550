// `medbot gateway` as a user runs it, with Feishu and QQ enabled against our fakes: both channels come up,
// an allowed person's message on each is answered in that chat, and a stranger gets nothing.
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
