// What the report reader's worker does: a report's bytes become normalised text, or a plain refusal naming
// the limit it broke (pages, characters). Kept free of the database so the worker loads only this.

/** What medbot reads of one report at most; README.md ("Reports") documents these. */
export const REPORT_LIMITS = {
  /** Bytes of a file or of pasted text (a lab PDF is rarely over 5 MB). */
  megabytes: 20,
  /** Pages of a PDF: a PDF reader's cost grows with the square of the page count. */
  pages: 500,
  /** Characters of text read from one report. */
  characters: 2_000_000,
  /** Wall time for reading one report; the worker is stopped when it runs out. */
  seconds: 30,
  /** Heap of the worker, so a decompression bomb stops the worker, not the gateway. */
  heapMegabytes: 512,
};
export type ReportLimits = typeof REPORT_LIMITS;

export type ReportTextKind = "pdf" | "text" | "pasted";

export interface ReportReadRequest {
  kind: ReportTextKind;
  /** The file's bytes, or the pasted text. */
  data: Uint8Array | string;
  limits: ReportLimits;
}

/** The report's text (normalised; "" for a PDF without a text layer), or why it was refused. */
export type ReportReadResult = { text: string } | { refused: string };

const count = (n: number) => n.toLocaleString("en-US");

/** Reads one report's text within `limits`; a refusal is the end of a sentence about the report. */
export async function readReportSource(request: ReportReadRequest): Promise<ReportReadResult> {
  const { kind, data, limits } = request;
  if (kind === "pdf") return pdfText(data as Uint8Array, limits);
  const text = typeof data === "string" ? data : decodeText(data);
  if (typeof text !== "string") return text;
  if (text.length > limits.characters) return tooManyCharacters(count(text.length), limits);
  return { text: normaliseText(text) };
}

function tooManyCharacters(length: string, limits: ReportLimits): ReportReadResult {
  return { refused: `has ${length} characters of text; medbot reads at most ${count(limits.characters)}` };
}

/**
 * The text layer of a PDF, page by page, stopping at the first limit it breaks. unpdf carries a build of
 * PDF.js without a native canvas (text only), which keeps the install small.
 */
async function pdfText(bytes: Uint8Array, limits: ReportLimits): Promise<ReportReadResult> {
  const { getDocumentProxy } = await import("unpdf");
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>> | undefined;
  try {
    // PDF.js takes the buffer over; a copy keeps the caller's bytes intact.
    pdf = await getDocumentProxy(new Uint8Array(bytes), { isEvalSupported: false });
    if (pdf.numPages > limits.pages) {
      return { refused: `has ${count(pdf.numPages)} pages; medbot reads at most ${count(limits.pages)}` };
    }
    let text = "";
    for (let page = 1; page <= pdf.numPages; page++) {
      const content = await (await pdf.getPage(page)).getTextContent();
      for (const item of content.items) {
        if ("str" in item) text += item.str + (item.hasEOL ? "\n" : "");
      }
      text += "\n";
      if (text.length > limits.characters) {
        return tooManyCharacters(`more than ${count(limits.characters)}`, limits);
      }
    }
    const clean = normaliseText(text);
    return { text: /[\p{L}\p{N}]/u.test(clean) ? clean : "" };
  } catch (error) {
    return { refused: `could not be read as a PDF (${(error as Error).message})` };
  } finally {
    await pdf?.destroy().catch(() => {});
  }
}

function decodeText(bytes: Uint8Array): string | ReportReadResult {
  if (bytes.includes(0)) return { refused: "is not a text file (it holds binary data)" };
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { refused: "is not UTF-8 text; save it as UTF-8 and try again" };
  }
}

/** One newline style, no trailing blanks, at most one empty line in a row; linear in the text's length. */
export function normaliseText(text: string): string {
  return text
    .replace(/^\uFEFF/, "")
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map(trimTrailingBlanks)
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** The line without trailing spaces and tabs (a scan from the end: /[ \t]+$/ backtracks on long runs). */
function trimTrailingBlanks(line: string): string {
  let end = line.length;
  while (end > 0 && (line[end - 1] === " " || line[end - 1] === "\t")) end--;
  return end === line.length ? line : line.slice(0, end);
}
