// `medbot gateway` as a real process against a fake Telegram and a fake model: kill -9 mid-turn, restart,
// and the message is answered exactly once; SIGTERM exits 0.
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeOpenAI } from "../support/fake-openai.js";
import { FakeTelegram } from "../support/fake-telegram.js";
import { fakeProviderConfig, MEDBOT_BIN, runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

const ANNA = { id: 501, first_name: "Anna" };
const children: ChildProcess[] = [];
const fakes: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const fake of fakes.splice(0)) await fake.close();
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function startGatewayProcess(home: string): {
  child: ChildProcess;
  exited: Promise<number | null>;
  log: () => string;
} {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("MEDBOT_")));
  const child = spawn(process.execPath, [MEDBOT_BIN, "gateway"], {
    env: { ...env, MEDBOT_HOME: home, MEDBOT_ALLOW_ROOT: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout?.on("data", (data: Buffer) => {
    output += data.toString();
  });
  child.stderr?.on("data", (data: Buffer) => {
    output += data.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, log: () => output };
}

describe("medbot gateway", () => {
  it("answers a message interrupted by kill -9 once after restart, and exits 0 on SIGTERM", async () => {
    const telegram = await FakeTelegram.start();
    const model = await FakeOpenAI.start();
    fakes.push(telegram, model);
    const port = await freePort();
    const home = tempHome("medbot-gateway-cli-");
    writeConfig(home, {
      ...fakeProviderConfig(model.url),
      channels: {
        telegram: telegram.channelConfig(["501"]),
      },
      gateway: { port },
    });
    // The first run's model call never returns in time: the process is killed mid-turn.
    model.enqueue({ delayMs: 30_000, reply: { content: "too late" } });

    const first = startGatewayProcess(home);
    telegram.userSays(ANNA.id, ANNA, "Anna's temperature is 38.4 tonight");
    await vi.waitFor(() => expect(model.chatRequests).toHaveLength(1), { timeout: 20_000, interval: 50 });
    first.child.kill("SIGKILL");
    await first.exited;

    model.enqueue({ content: "Noted: 38.4 °C tonight for Anna." });
    const second = startGatewayProcess(home);
    await vi.waitFor(() => expect(telegram.sentTo(ANNA.id)).toHaveLength(1), {
      timeout: 20_000,
      interval: 50,
    });
    expect(String(telegram.sentTo(ANNA.id)[0]?.text)).toContain("Noted: 38.4");
    expect(model.chatRequests).toHaveLength(2);

    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as unknown;
    expect(health).toEqual({
      status: "ok",
      channels: { telegram: "running" },
      refused: { telegram: 0 },
      queue: { pending: 0, unsent: 0 },
    });

    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    expect(telegram.sentTo(ANNA.id)).toHaveLength(1);

    const logFile = path.join(home, "logs", "gateway.log");
    expect(fs.statSync(logFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(logFile, "utf8")).not.toContain("38.4");
  }, 60_000);

  it("refuses to start with no channel enabled, naming the key to set", async () => {
    const home = tempHome("medbot-gateway-cli-");
    writeConfig(home, fakeProviderConfig("http://127.0.0.1:9/v1"));
    const result = await runMedbot(["gateway"], { home });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("channels.telegram.enabled");
  });

  it("refuses a non-loopback health host unless gateway.allowNonLoopback is set", async () => {
    const telegram = await FakeTelegram.start();
    fakes.push(telegram);
    const home = tempHome("medbot-gateway-cli-");
    writeConfig(home, {
      ...fakeProviderConfig("http://127.0.0.1:9/v1"),
      channels: {
        telegram: telegram.channelConfig(["501"]),
      },
      gateway: { host: "0.0.0.0" },
    });
    const result = await runMedbot(["gateway"], { home });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("gateway.allowNonLoopback");
    expect(telegram.callsOf("getMe")).toEqual([]);
  });
});
