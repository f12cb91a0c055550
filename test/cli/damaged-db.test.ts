// Issue 12: a 0-byte medbot.db where a database was is damage. Every command (and the gateway) stops with
// exit 1 and a message naming the file and what to do; none of them starts the family's archive afresh.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawnGateway } from "../support/gateway-process.js";
import { fakeProviderConfig, runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

const home = tempHome("medbot-damaged-db-");
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe("an emptied medbot.db", () => {
  it("is refused by the CLI and the gateway, and stays as it was", async () => {
    // The gateway never reaches Telegram: it stops at the database, before any channel starts.
    const telegram = { enabled: true, token: "1:T", apiRoot: "http://127.0.0.1:9", allowFrom: ["1"] };
    writeConfig(home, { ...fakeProviderConfig("http://127.0.0.1:9/v1"), channels: { telegram } });
    expect((await runMedbot(["family", "add", "Grandma"], { home })).code).toBe(0);
    const database = path.join(home, "workspace", "medbot.db");
    fs.truncateSync(database, 0);
    fs.rmSync(`${database}-wal`, { force: true });
    fs.rmSync(`${database}-shm`, { force: true });

    const listed = await runMedbot(["family", "list"], { home });
    expect(listed.code).toBe(1);
    expect(listed.stderr).toContain(
      `The database ${database} is empty (0 bytes), but medbot created it before`,
    );
    expect(listed.stderr).toContain("Restore medbot.db from a backup");

    const gateway = spawnGateway(home);
    const exit = await gateway.exited;
    expect(gateway.log()).toContain(`The database ${database} is empty (0 bytes)`);
    expect(exit).toBe(1);
    expect(fs.statSync(database).size).toBe(0);
  }, 30_000);
});
