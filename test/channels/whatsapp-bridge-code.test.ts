// The bridge runs code only its user can write: medbot's compiled build, never tsx's cache in the shared
// temporary folder (where a planted entry once ran inside the bridge and read its token).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BridgeProcess, bridgeFolders, connectBridge } from "../../src/channels/whatsapp-bridge-process.js";
import { freePort } from "../support/gateway-process.js";

describe("the WhatsApp bridge's code", () => {
  const started: BridgeProcess[] = [];
  afterEach(async () => {
    await Promise.all(started.map((bridge) => bridge.stop()));
    vi.unstubAllEnvs();
  });

  it("under umask 000, the bridge starts through its launcher, answers, and leaves nothing in $TMPDIR (no tsx cache)", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-bridge-code-"));
    const temporary = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-bridge-tmpdir-"));
    vi.stubEnv("TMPDIR", temporary);
    vi.stubEnv("MEDBOT_ALLOW_ROOT", "1");
    // baileys dials a loopback port where nothing listens, never WhatsApp itself.
    vi.stubEnv("MEDBOT_BRIDGE_WA_URL", `ws://127.0.0.1:${await freePort()}/ws/chat`);
    const folders = bridgeFolders(home);
    const token = "bridge-code-token-0123456789abcdef";
    const umask = process.umask(0);
    let bridge: BridgeProcess;
    try {
      bridge = BridgeProcess.spawn({ ...folders, token });
    } finally {
      process.umask(umask);
    }
    started.push(bridge);
    const socket = await connectBridge(
      folders.socketPath,
      token,
      { onFrame: () => undefined, onBadFrame: () => undefined, onClose: () => undefined },
      { retryForMs: 30_000, gaveUp: () => (bridge.running ? undefined : bridge.describeExit()) },
    );
    socket.close();
    expect(fs.readdirSync(temporary)).toEqual([]);
  });
});
