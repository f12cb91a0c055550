// The doctor export as a PDF (pdfkit): the same blocks as the Markdown, with each trend chart drawn as vector
// lines from the same readings. Chinese, Japanese and Korean text is set in a CJK font found on the system
// (pdfkit's Helvetica has no such glyphs); without one the PDF is still produced, with missing glyphs.
import * as fs from "node:fs";
import PDFDocument from "pdfkit";
import { localDay } from "../../time/dates.js";
import type { MetricReading } from "../metrics.js";
import type { Block } from "./markdown.js";

/** Latin-script fonts (regular, bold); pdfkit's built-in Helvetica when none is installed. */
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

interface FontFiles {
  regular: string | Buffer;
  bold: string | Buffer;
  cjk?: { data: Buffer; family?: string };
}

let fontFiles: FontFiles | undefined;

/** The fonts this machine has, read once per process. */
function findFonts(): FontFiles {
  if (fontFiles) return fontFiles;
  const latin = LATIN_FONTS.find(([regular, bold]) => fs.existsSync(regular) && fs.existsSync(bold));
  const cjk = CJK_FONTS.find((font) => fs.existsSync(font.file));
  fontFiles = {
    regular: latin ? fs.readFileSync(latin[0]) : "Helvetica",
    bold: latin ? fs.readFileSync(latin[1]) : "Helvetica-Bold",
    cjk: cjk ? { data: fs.readFileSync(cjk.file), family: cjk.family } : undefined,
  };
  return fontFiles;
}

interface Run {
  text: string;
  bold: boolean;
  cjk: boolean;
}

/** Markdown-inline text (**bold**, backslash escapes) as runs, split where the script needs the CJK font. */
export function textRuns(text: string, bold = false): Run[] {
  const runs: Run[] = [];
  const push = (char: string, isBold: boolean) => {
    const cjk = CJK_TEXT.test(char);
    const last = runs.at(-1);
    if (last && last.bold === isBold && last.cjk === cjk) last.text += char;
    else runs.push({ text: char, bold: isBold, cjk });
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
    this.doc.registerFont("regular", fonts.regular);
    this.doc.registerFont("bold", fonts.bold);
    this.cjk = fonts.cjk !== undefined;
    if (fonts.cjk) this.doc.registerFont("cjk", fonts.cjk.data, fonts.cjk.family);
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
    if (run.cjk && this.cjk) {
      try {
        this.doc.font("cjk");
        return;
      } catch {
        this.cjk = false; // a collection without the expected face: keep going with the Latin font
      }
    }
    this.doc.font(run.bold ? "bold" : "regular");
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
      this.doc.font(bold ? "bold" : "regular").fontSize(9);
      const height = Math.max(
        ...cells.map((cell, i) =>
          this.doc.heightOfString(cell.replace(/\*\*|\\/g, "") || " ", { width: widths[i]! - 6 }),
        ),
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
