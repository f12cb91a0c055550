// The text of a PDF medbot wrote, read back through the project's own report reader (whatever PDF library
// it uses), so tests check what a person or a clinician's system would read.
import { readReportText } from "../../src/archive/report-reader.js";

/** The PDF's text (normalised as the report reader does). */
export function pdfText(data: Uint8Array): Promise<string> {
  return readReportText({ kind: "pdf", data }, "The exported PDF");
}
