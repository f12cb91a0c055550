// One Markdown tokenizer feeds every platform's renderer: the same reply reads the same way on Telegram,
// WhatsApp, QQ and Feishu, and no renderer parses Markdown on its own (a heading or bold pattern in any
// other file of src/channels/ fails here).
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { renderFeishuMessage } from "../../src/channels/feishu-format.js";
import { markdownBlocks } from "../../src/channels/markdown.js";
import { markdownToQqText } from "../../src/channels/qq-api.js";
import { markdownToTelegramHtml } from "../../src/channels/telegram-format.js";
import { markdownToWhatsApp } from "../../src/channels/whatsapp-format.js";

const REPLY = [
  "## Anna's week",
  "- **BP** 128/82, *steady*",
  "- see [DDInter](https://ddinter.scbdd.com), `metformin`",
  "```",
  "**not bold** in code",
  "```",
].join("\n");

describe("markdown tokenizer", () => {
  it("reads blocks and spans once, for every renderer", () => {
    const blocks = markdownBlocks(REPLY);
    expect(blocks.map((block) => block.kind)).toEqual(["heading", "bullet", "bullet", "code"]);
    const bullet = blocks[1];
    expect(bullet?.kind === "bullet" && bullet.spans.map((span) => span.kind)).toEqual([
      "bold",
      "text",
      "italic",
    ]);
  });

  it("renders the same reply for each platform", () => {
    expect(markdownToTelegramHtml(REPLY)).toBe(
      [
        "<b>Anna's week</b>",
        "• <b>BP</b> 128/82, <i>steady</i>",
        '• see <a href="https://ddinter.scbdd.com">DDInter</a>, <code>metformin</code>',
        "<pre>**not bold** in code</pre>",
      ].join("\n"),
    );
    expect(markdownToWhatsApp(REPLY)).toBe(
      [
        "*Anna's week*",
        "• *BP* 128/82, _steady_",
        "• see DDInter (https://ddinter.scbdd.com), `metformin`",
        "```",
        "**not bold** in code",
        "```",
      ].join("\n"),
    );
    expect(markdownToQqText(REPLY)).toBe(
      [
        "Anna's week",
        "- BP 128/82, *steady*",
        "- see DDInter (https://ddinter.scbdd.com), `metformin`",
        "```",
        "**not bold** in code",
        "```",
      ].join("\n"),
    );
    expect(renderFeishuMessage(REPLY).msgType).toBe("interactive");
    expect(renderFeishuMessage("**BP** 128/82").msgType).toBe("post");
    expect(renderFeishuMessage("BP 128/82").msgType).toBe("text");
  });

  it("leaves code alone on QQ too: markers inside backticks or a fence are not stripped", () => {
    expect(markdownToQqText("type `**kwargs` or\n```\n# not a heading\n```")).toBe(
      "type `**kwargs` or\n```\n# not a heading\n```",
    );
  });

  it("is the only Markdown parser in src/channels", () => {
    const folder = path.join(import.meta.dirname, "../../src/channels");
    const parsers = readdirSync(folder)
      .filter((file) => file.endsWith(".ts") && file !== "markdown.ts")
      .filter((file) => /#\{1,6\}|\\\*\\\*/.test(readFileSync(path.join(folder, file), "utf8")));
    expect(parsers).toEqual([]);
  });
});
