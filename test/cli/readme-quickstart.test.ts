// The README's quick start for the archive, run line by line through the real CLI: its commands work as
// written, and the export they end with is one a clinician can use (real name, birth date, readings).
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runMedbot, tempHome } from "../support/medbot-cli.js";
import { pdfText } from "../support/pdf-text.js";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));
const home = tempHome("medbot-readme-");
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

/** The `npx medbot ...` lines of the README block that follows "The archive from the command line". */
function quickStartCommands(): string[][] {
  const readme = fs.readFileSync(README, "utf8");
  const after = readme.split("The archive from the command line")[1] ?? "";
  const block = /```sh\n([\s\S]*?)```/.exec(after)?.[1] ?? "";
  return block
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line.startsWith("npx medbot "))
    .map((line) => words(line.slice("npx medbot ".length)));
}

/** Shell words: spaces split, double or single quotes group. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

describe("the README quick start", () => {
  it("records a real name with 爸爸 as an alias, and its export is one a clinician can use", async () => {
    const commands = quickStartCommands();
    expect(commands.map((c) => c[0])).toContain("export");
    let exported: string[] = [];
    for (const args of commands) {
      const result = await runMedbot(args, { home });
      expect(result.code, `medbot ${args.join(" ")}\n${result.stderr}`).toBe(0);
      if (args[0] === "export") exported = result.stdout.trim().split("\n");
    }
    expect(exported.map((file) => path.basename(path.dirname(file)))).toEqual(["wang-jian", "wang-jian"]);

    const md = fs.readFileSync(exported[0]!, "utf8");
    expect(md).toMatch(/^# Medical summary: Wang Jian$/m);
    expect(md).toMatch(
      /^- Full name: \*\*Wang Jian\*\*\n- Birth date: 1956-03-14 \(age \d+\)\n- Sex: male$/m,
    );
    expect(md).toContain("- Also called: 爸爸, Dad");
    expect(md).toContain("- Drug: **penicillin** — hives");
    expect(md).toContain("- **hypertension** (since 2015)");
    expect(md).toContain("| **amlodipine** | 5 mg | daily | 08:00 | blood pressure |");
    expect(md).not.toContain("not recorded");
    expect(md).toContain("| Measured (Asia/Shanghai) | Reading |");
    expect(md).toMatch(/^\| \d{4}-\d{2}-\d{2} \d{2}:\d{2} \| [\d.]+ (mmol\/L|mg\/dL)/m);

    const text = await pdfText(fs.readFileSync(exported[1]!));
    expect(text).toContain("Full name: Wang Jian");
    expect(text).toContain("Birth date: 1956-03-14");
  });
});
