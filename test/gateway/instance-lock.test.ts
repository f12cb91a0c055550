// The one-gateway lock on its own: held until released, refused meanwhile with the holder's details, and
// never naming a dead process from an earlier run (the process-level proof is one-gateway.test.ts).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GatewayAlreadyRunning, gatewayLockPaths, lockGateway } from "../../src/gateway/instance-lock.js";

const home = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-gateway-lock-"));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
const HEALTH = "http://127.0.0.1:18790/healthz";

describe("the gateway lock", () => {
  it("refuses a second holder naming the first, and is free again once released", () => {
    const first = lockGateway(home, HEALTH, () => new Date("2026-01-02T03:04:05Z"));
    const files = gatewayLockPaths(home);
    expect(fs.statSync(files.lock).mode & 0o777).toBe(0o600);
    expect(fs.statSync(files.holder).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(files.lock)).mode & 0o777).toBe(0o700);

    expect(() => lockGateway(home, "http://127.0.0.1:1/healthz")).toThrow(GatewayAlreadyRunning);
    expect(() => lockGateway(home, "http://127.0.0.1:1/healthz")).toThrow(
      `(pid ${process.pid}, started 2026-01-02T03:04:05.000Z, health ${HEALTH})`,
    );
    first.release();
    expect(fs.existsSync(files.holder)).toBe(false);
    lockGateway(home, HEALTH).release();
  });

  it("does not name a dead process whose details an earlier run left behind", () => {
    const held = lockGateway(home, HEALTH);
    const stale = { pid: 2 ** 22 + 1, startedAt: "2025-01-01T00:00:00.000Z", health: HEALTH };
    fs.writeFileSync(gatewayLockPaths(home).holder, JSON.stringify(stale));
    expect(() => lockGateway(home, HEALTH)).toThrow("it has not written its details yet");
    held.release();
  });
});
