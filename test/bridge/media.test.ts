// Inbound file names come from strangers: whatever they hold, the saved file stays directly inside the media
// folder, private, under a short plain name, and never overwrites another.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_MEDIA_NAME_BYTES, sanitizeMediaName, saveMedia } from "../../bridge/src/media.js";

const HOSTILE = [
  "../../../etc/passwd",
  "..",
  ".",
  "...",
  "/absolute/path.pdf",
  "C:\\Windows\\system32\\evil.dll",
  "..\\..\\up.pdf",
  "a/../../b.pdf",
  ".bashrc",
  "report\u0000.pdf.exe",
  "line\nbreak\r.pdf",
  "invoice\u202Efdp.exe",
  "zero\u200Bwidth.pdf",
  "\u0007\u001b[31mred.pdf",
  "   ",
  "",
  "名字.pdf",
  `${"a".repeat(300)}.pdf`,
  `${"🩺".repeat(200)}.pdf`,
  `x.${"p".repeat(60)}`,
];

describe("inbound media names", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-wa-media-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each(HOSTILE)("makes %j a plain, short name", (name) => {
    const clean = sanitizeMediaName(name, "application/pdf");
    expect(clean).not.toMatch(/[/\\]/);
    expect(clean).not.toContain("..");
    expect(clean).not.toMatch(/[\p{Cc}\p{Cf}]/u);
    expect(clean.startsWith(".")).toBe(false);
    expect(clean.length).toBeGreaterThan(0);
    expect(Buffer.byteLength(clean)).toBeLessThanOrEqual(MAX_MEDIA_NAME_BYTES);
  });

  it("keeps ordinary names and extensions readable", () => {
    expect(sanitizeMediaName("Blood test 2024-05.pdf", "application/pdf")).toBe("Blood test 2024-05.pdf");
    expect(sanitizeMediaName("名字.pdf", "application/pdf")).toBe("名字.pdf");
    expect(sanitizeMediaName(undefined, "image/jpeg")).toBe("file.jpg");
    expect(sanitizeMediaName("../../etc/passwd", "text/plain")).toBe("etc_passwd.txt");
    expect(sanitizeMediaName(`${"a".repeat(300)}.pdf`, "application/pdf")).toMatch(/^a+\.pdf$/);
  });

  it("saves every hostile name directly inside the folder, 0600, without overwriting", () => {
    const saved = HOSTILE.map((name, i) => saveMedia(dir, name, "application/pdf", Buffer.from(`file ${i}`)));
    for (const [i, file] of saved.entries()) {
      expect(path.dirname(file.path)).toBe(dir);
      expect(fs.readFileSync(file.path, "utf8")).toBe(`file ${i}`);
      expect(fs.statSync(file.path).mode & 0o777).toBe(0o600);
    }
    expect(fs.readdirSync(dir)).toHaveLength(HOSTILE.length);
    const twice = [
      saveMedia(dir, "same.pdf", "application/pdf", Buffer.from("1")),
      saveMedia(dir, "same.pdf", "application/pdf", Buffer.from("2")),
    ];
    expect(twice[0]?.path).not.toBe(twice[1]?.path);
    expect(fs.readFileSync(twice[0]!.path, "utf8")).toBe("1");
  });

  it("survives random bytes as names", () => {
    for (let i = 0; i < 500; i++) {
      const name = String.fromCharCode(
        ...Array.from({ length: 1 + (i % 40) }, () => Math.floor(Math.random() * 0x3000)),
      );
      const clean = sanitizeMediaName(name, "application/octet-stream");
      expect(path.basename(path.join(dir, clean))).toBe(clean);
      expect(path.dirname(path.join(dir, clean))).toBe(dir);
      expect(clean).not.toContain("..");
    }
  });
});
