// The doctor export as a PDF (pdfkit): the same blocks as the Markdown, with each trend chart drawn as vector
// lines from the same readings. Text the PDF standard fonts can show (Latin-1 and the other WinAnsi
// characters) is set in the built-in Helvetica, which needs no font file parsed, laid out or embedded: the
// first export of a process is then about as fast as the later ones (issue 15). Other characters (arrows,
// Greek, Cyrillic…) are set in DejaVu Sans and Chinese, Japanese and Korean text in a CJK font found on the
// system; without those the PDF is still produced, with missing glyphs.
import * as fs from "node:fs";
import { createRequire } from "node:module";
import { localDay } from "../../time/dates.js";
import type { MetricReading } from "../metrics.js";
import type { Block } from "./markdown.js";

/**
 * pdfkit through require: its CommonJS build loads about a quarter faster than its ES module build (no scan
 * of each CommonJS dependency for its exports), a cost the first export of a process pays.
 */
const PDFDocument = createRequire(import.meta.url)("pdfkit") as typeof import("pdfkit");

/** Fonts (regular, bold) for what Helvetica lacks; Helvetica itself when none is installed. */
const LATIN_FONTS: readonly [string, string][] = [
  ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"],
  ["/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"],
  ["/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"],
];

/** CJK fonts by where distributions put them; `family` picks the face inside a collection (.ttc). */
const CJK_FONTS: readonly { file: string; family?: string }[] = [
  { file: "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", family: "NotoSansCJKsc-Regular" },
  { file: "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", family: "NotoSansCJKsc-Regular" },
  { file: "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", family: "WenQuanYiMicroHei" },
  { file: "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", family: "WenQuanYiZenHei" },
  { file: "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf" },
  { file: "/usr/share/fonts/google-droid/DroidSansFallbackFull.ttf" },
  { file: "/System/Library/Fonts/PingFang.ttc", family: "PingFangSC-Regular" },
  { file: "/System/Library/Fonts/STHeiti Light.ttc", family: "STHeitiSC-Light" },
];

/** Han, kana, Hangul, CJK punctuation and full-width forms: set in the CJK font. */
const CJK_TEXT =
  /[\u2e80-\u9fff\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u{20000}-\u{2fa1f}]/u;

/** Besides Latin-1, the characters of the WinAnsi encoding the standard PDF fonts are set in. */
const WIN_ANSI_EXTRA = new Set(Array.from("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"));

/** The font files of this machine (pdfkit reads one only when a document uses it). */
interface FontFiles {
  unicode: string;
  unicodeBold: string;
  cjk?: { file: string; family?: string };
}

let fontFiles: FontFiles | undefined;

/** The fonts this machine has, looked up once per process. */
function findFonts(): FontFiles {
  if (fontFiles) return fontFiles;
  const unicode = LATIN_FONTS.find(([regular, bold]) => fs.existsSync(regular) && fs.existsSync(bold));
  fontFiles = {
    unicode: unicode?.[0] ?? "Helvetica",
    unicodeBold: unicode?.[1] ?? "Helvetica-Bold",
    cjk: CJK_FONTS.find((font) => fs.existsSync(font.file)),
  };
  return fontFiles;
}

/** Which font a character needs: a standard one (WinAnsi), the Unicode one, or the CJK one. */
type Script = "winansi" | "unicode" | "cjk";

function scriptOf(char: string): Script {
  if (CJK_TEXT.test(char)) return "cjk";
  const code = char.codePointAt(0)!;
  return code < 0x7f || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRA.has(char) ? "winansi" : "unicode";
}

interface Run {
  text: string;
  bold: boolean;
  script: Script;
}

/** Markdown-inline text (**bold**, backslash escapes) as runs, split where the script needs another font. */
export function textRuns(text: string, bold = false): Run[] {
  const runs: Run[] = [];
  const push = (char: string, isBold: boolean) => {
    const script = scriptOf(char);
    const last = runs.at(-1);
    if (last && last.bold === isBold && last.script === script) last.text += char;
    else runs.push({ text: char, bold: isBold, script });
  };
  let strong = bold;
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    if (char === "\\" && i + 1 < chars.length) push(chars[++i]!, strong);
    else if (char === "*" && chars[i + 1] === "*") {
      strong = bold || !strong;
      i++;
    } else push(char, strong);
  }
  return runs;
}

/** The registered font for text in a standard font (WinAnsi) or not, bold or not. */
function fontName(standard: boolean, bold: boolean): string {
  return `${standard ? "" : "unicode-"}${bold ? "bold" : "regular"}`;
}

const COLOR = { text: "#111111", muted: "#555555", alert: "#b00020", rule: "#999999", grid: "#dddddd" };
/** As in the SVG charts: first value (systolic) red, second (diastolic) blue. */
const SERIES = [
  { color: "#c0392b", label: "systolic" },
  { color: "#2471a3", label: "diastolic" },
];

/** Lays out blocks on A4 pages. */
class PdfWriter {
  readonly doc = new PDFDocument({
    size: "A4",
    margin: 50,
    info: { Title: "Medical summary", Creator: "medbot" },
  });
  private cjk: boolean;

  constructor(
    fonts: FontFiles,
    private readonly timeZone: string,
  ) {
    this.doc.registerFont("regular", "Helvetica");
    this.doc.registerFont("bold", "Helvetica-Bold");
    this.doc.registerFont("unicode-regular", fonts.unicode);
    this.doc.registerFont("unicode-bold", fonts.unicodeBold);
    this.cjk = fonts.cjk !== undefined;
    if (fonts.cjk) this.doc.registerFont("cjk", fonts.cjk.file, fonts.cjk.family);
  }

  private get left(): number {
    return this.doc.page.margins.left;
  }

  private get width(): number {
    return this.doc.page.width - this.doc.page.margins.left - this.doc.page.margins.right;
  }

  private ensureRoom(height: number): void {
    if (this.doc.y + height > this.doc.page.height - this.doc.page.margins.bottom) this.doc.addPage();
  }

  private useFont(run: Run): void {
    if (run.script === "cjk" && this.cjk) {
      try {
        this.doc.font("cjk");
        return;
      } catch {
        this.cjk = false; // a collection without the expected face: keep going with the Unicode font
      }
    }
    this.doc.font(fontName(run.script === "winansi", run.bold));
  }

  /** Writes one paragraph of inline text at (x, y) within `width`. */
  write(
    text: string,
    size: number,
    options: { x?: number; y?: number; width?: number; bold?: boolean; color?: string } = {},
  ): void {
    const runs = textRuns(text, options.bold).filter((run) => run.text.length > 0);
    if (runs.length === 0) return;
    this.doc.fontSize(size).fillColor(options.color ?? COLOR.text);
    runs.forEach((run, i) => {
      this.useFont(run);
      const layout = { continued: i < runs.length - 1, lineGap: 2 };
      if (i === 0)
        this.doc.text(run.text, options.x ?? this.left, options.y ?? this.doc.y, {
          ...layout,
          width: options.width ?? this.width,
        });
      else this.doc.text(run.text, layout);
    });
  }

  block(block: Block, charts: Map<string, MetricReading[]>): void {
    const doc = this.doc;
    switch (block.type) {
      case "title":
        this.write(block.text, 18, { bold: true });
        doc.moveDown(0.4);
        break;
      case "heading":
        this.ensureRoom(60);
        doc.moveDown(0.6);
        this.write(block.text, 13.5, { bold: true, color: block.alert ? COLOR.alert : COLOR.text });
        doc
          .moveTo(this.left, doc.y + 1)
          .lineTo(this.left + this.width, doc.y + 1)
          .lineWidth(0.5)
          .strokeColor(block.alert ? COLOR.alert : COLOR.rule)
          .stroke();
        doc.moveDown(0.4);
        break;
      case "subheading":
        this.ensureRoom(70);
        doc.moveDown(0.3);
        this.write(block.text, 11, { bold: true });
        doc.moveDown(0.15);
        break;
      case "text":
        this.write(block.text, 10, { color: COLOR.muted });
        doc.moveDown(0.3);
        break;
      case "item": {
        this.ensureRoom(14);
        const y = doc.y;
        this.write("•", 10, { y });
        this.write(block.text, 10, { x: this.left + 12, y, width: this.width - 12 });
        doc.moveDown(0.15);
        break;
      }
      case "table":
        this.table(block.header, block.rows);
        break;
      case "chart":
        this.chart(block.caption, charts.get(block.key) ?? []);
        break;
    }
    doc.x = this.left;
  }

  private table(header: string[], rows: string[][]): void {
    const first = Math.min(150, this.width * 0.28);
    const rest = (this.width - first) / Math.max(1, header.length - 1);
    const widths = header.map((_, i) => (i === 0 ? first : rest));
    const row = (cells: string[], bold: boolean) => {
      const height = Math.max(
        ...cells.map((cell, i) => {
          const plain = cell.replace(/\*\*|\\/g, "") || " ";
          const standard = Array.from(plain).every((char) => scriptOf(char) === "winansi");
          this.doc.font(fontName(standard, bold)).fontSize(9);
          return this.doc.heightOfString(plain, { width: widths[i]! - 6 });
        }),
      );
      this.ensureRoom(height + 6);
      const y = this.doc.y;
      let x = this.left;
      cells.forEach((cell, i) => {
        this.write(cell, 9, { x, y, width: widths[i]! - 6, bold });
        x += widths[i]!;
      });
      this.doc.y = y + height + 4;
      this.doc
        .moveTo(this.left, this.doc.y - 2)
        .lineTo(this.left + this.width, this.doc.y - 2)
        .lineWidth(0.3)
        .strokeColor(COLOR.grid)
        .stroke();
    };
    row(header, true);
    for (const cells of rows) row(cells, false);
    this.doc.moveDown(0.3);
  }

  /** A line chart of the readings (both parts of a two-part reading), time on x, with its value range. */
  private chart(caption: string, points: MetricReading[]): void {
    if (points.length < 2) return;
    const doc = this.doc;
    const height = 140;
    this.ensureRoom(height + 40);
    this.write(caption, 9, { color: COLOR.muted });
    const top = doc.y + 4;
    const plot = { x: this.left + 42, y: top + 6, w: this.width - 52, h: height - 30 };
    const times = points.map((p) => Date.parse(p.measuredAt));
    const values = points.flatMap((p) => (p.value2 === null ? [p.value] : [p.value, p.value2]));
    const [t0, t1] = [Math.min(...times), Math.max(...times)];
    const [low, high] = [Math.min(...values), Math.max(...values)];
    const pad = (high - low) * 0.08 || Math.abs(high) * 0.05 || 1;
    const [v0, v1] = [low - pad, high + pad];
    const xOf = (t: number) => plot.x + (t1 === t0 ? plot.w / 2 : ((t - t0) / (t1 - t0)) * plot.w);
    const yOf = (v: number) => plot.y + plot.h - ((v - v0) / (v1 - v0)) * plot.h;

    doc.lineWidth(0.5).strokeColor(COLOR.rule).rect(plot.x, plot.y, plot.w, plot.h).stroke();
    doc.font("regular").fontSize(7).fillColor(COLOR.muted);
    for (const value of [low, (low + high) / 2, high]) {
      const y = yOf(value);
      doc
        .moveTo(plot.x, y)
        .lineTo(plot.x + plot.w, y)
        .lineWidth(0.3)
        .strokeColor(COLOR.grid)
        .stroke();
      doc.text(String(Number(value.toFixed(1))), this.left, y - 3, {
        width: 38,
        align: "right",
        lineBreak: false,
      });
    }
    const series: ((p: MetricReading) => number | null)[] = [(p) => p.value, (p) => p.value2];
    series.forEach((pick, s) => {
      const line = points.map((p, i) => [xOf(times[i]!), pick(p)] as const).filter(([, v]) => v !== null);
      if (line.length < 2) return;
      doc.moveTo(line[0]![0], yOf(line[0]![1]!));
      for (const [x, v] of line.slice(1)) doc.lineTo(x, yOf(v!));
      doc.lineWidth(1).strokeColor(SERIES[s]!.color).stroke();
    });
    if (points.some((p) => p.value2 !== null)) {
      SERIES.forEach(({ color, label }, s) => {
        const x = plot.x + plot.w - 130 + s * 65;
        doc
          .moveTo(x, plot.y - 6)
          .lineTo(x + 14, plot.y - 6)
          .lineWidth(1.5)
          .strokeColor(color)
          .stroke();
        doc.fillColor(COLOR.muted).text(label, x + 18, plot.y - 9, { lineBreak: false });
      });
    }
    const dateY = plot.y + plot.h + 4;
    doc.fillColor(COLOR.muted).fontSize(7);
    // Dates as the member's clock shows them, like every other date in the export.
    const day = (p: MetricReading) => localDay(p.measuredAt, this.timeZone);
    doc.text(day(points[0]!), plot.x, dateY, { lineBreak: false });
    doc.text(day(points.at(-1)!), plot.x + plot.w - 60, dateY, {
      width: 60,
      align: "right",
      lineBreak: false,
    });
    doc.x = this.left;
    doc.y = top + height;
  }
}

/** The export's blocks as PDF bytes, chart dates in `timeZone` (collected in memory, for an atomic private write). */
export async function doctorExportPdf(
  blocks: Block[],
  charts: Map<string, MetricReading[]>,
  timeZone: string,
): Promise<Buffer> {
  const writer = new PdfWriter(findFonts(), timeZone);
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    writer.doc.on("data", (chunk: Buffer) => chunks.push(chunk));
    writer.doc.on("end", () => resolve(Buffer.concat(chunks)));
    writer.doc.on("error", reject);
  });
  for (const block of blocks) writer.block(block, charts);
  writer.doc.end();
  return done;
}
