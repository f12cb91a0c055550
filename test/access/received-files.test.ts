// Received files: each sender has one plain folder of their own, and only a file a channel just saved
// directly in media/<channel>/ is moved into it.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fileUnderSender, senderFolderName } from "../../src/access/received-files.js";

let workspace: string;
beforeEach(() => {
  workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "medbot-received-")));
  fs.mkdirSync(path.join(workspace, "media", "whatsapp"), { recursive: true });
});
afterEach(() => fs.rmSync(workspace, { recursive: true, force: true }));

describe("senderFolderName", () => {
  it("is the sender key, one plain path segment no two senders share", () => {
    expect(senderFolderName("whatsapp", "+49 170 1234567")).toBe("491701234567");
    expect(senderFolderName("email", "Ann@Example.org")).toBe("ann@example.org");
    expect(senderFolderName("whatsapp", "..")).toBe("%2E.");
    expect(senderFolderName("whatsapp", "a/b")).toBe("a%2Fb");
    expect(senderFolderName("whatsapp", "a%2Fb")).toBe("a%252Fb");
    expect(senderFolderName("feishu", "ou_爸爸")).toBe("ou_%E7%88%B8%E7%88%B8");
  });
});

describe("fileUnderSender", () => {
  it("moves a just-saved file into the sender's 0700 folder", () => {
    const saved = path.join(workspace, "media", "whatsapp", "1-ab-labs.pdf");
    fs.writeFileSync(saved, "%PDF", { mode: 0o600 });
    const moved = fileUnderSender(workspace, "whatsapp", "491701234567", saved);
    expect(moved).toBe(path.join(workspace, "media", "whatsapp", "491701234567", "1-ab-labs.pdf"));
    expect(fs.readFileSync(moved, "utf8")).toBe("%PDF");
    expect(fs.existsSync(saved)).toBe(false);
    expect(fs.statSync(path.dirname(moved)).mode & 0o777).toBe(0o700);
  });

  it("refuses, moving nothing, a file that is not directly in media/<channel>/", () => {
    const elsewhere = path.join(workspace, "USER.md");
    fs.writeFileSync(elsewhere, "household notes");
    const nested = path.join(workspace, "media", "whatsapp", "491700000000", "x.pdf");
    fs.mkdirSync(path.dirname(nested));
    fs.writeFileSync(nested, "%PDF");
    for (const file of [elsewhere, nested]) {
      expect(() => fileUnderSender(workspace, "whatsapp", "491701234567", file)).toThrow(
        /not a file directly in media\/whatsapp/,
      );
      expect(fs.existsSync(file)).toBe(true);
    }
    expect(fs.existsSync(path.join(workspace, "media", "whatsapp", "491701234567"))).toBe(false);
  });
});
