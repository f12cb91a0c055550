// Doctor's log check: message text in an info-or-above log line is a leak; at debug it is allowed.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkLogBodies } from "../../src/doctor/doctor-logs.js";
import { writePrivateFile } from "../../src/storage/private-fs.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-doctor-logs-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const lines = (...entries: unknown[]) => `${entries.map((e) => JSON.stringify(e)).join("\n")}\n`;
const HEALTH_TEXT = "my blood pressure was 180/110 this morning";

describe("doctor: message bodies in logs", () => {
  it("finds nothing without a logs folder, or in clean logs (ids and counts, text only at debug)", async () => {
    expect(await checkLogBodies(path.join(scratch, "missing"))).toEqual([]);
    const logs = path.join(scratch, "clean");
    writePrivateFile(
      path.join(logs, "gateway.log"),
      `${lines(
        { level: 30, time: 1, msg: "message received", channel: "telegram", chars: 42 },
        { level: 20, time: 2, msg: "inbound", text: HEALTH_TEXT },
        { level: 40, time: 3, msg: "retrying", error: "timeout", text: "" },
      )}not json at all\n`,
    );
    expect(await checkLogBodies(logs)).toEqual([]);
  });

  it("flags info-or-above lines with text, nested too, naming lines but never the text", async () => {
    const logs = path.join(scratch, "leaky");
    writePrivateFile(
      path.join(logs, "gateway.log"),
      lines(
        { level: 30, msg: "ok" },
        { level: 30, msg: "inbound", text: HEALTH_TEXT },
        { level: 50, msg: "send failed", message: { caption: HEALTH_TEXT } },
      ),
    );
    writePrivateFile(path.join(logs, "gateway.log.1"), lines({ level: 40, msg: "x", body: HEALTH_TEXT }));
    writePrivateFile(path.join(logs, "notes.txt"), lines({ level: 30, text: HEALTH_TEXT }));
    const findings = await checkLogBodies(logs);
    expect(findings.map((f) => `${f.id}:${f.severity}`)).toEqual(["logs.bodies:high", "logs.bodies:high"]);
    expect(findings[0]?.what).toContain("2 line(s)");
    expect(findings[0]?.what).toContain("line 2, 3");
    expect(findings[1]?.paths).toEqual([path.join(logs, "gateway.log.1")]);
    expect(JSON.stringify(findings)).not.toContain("blood pressure");
  });
});
