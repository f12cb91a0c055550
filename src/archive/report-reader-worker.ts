// The worker thread that reads a report's text (report-reader.ts starts it): a PDF reader or a huge text can
// take seconds or minutes, and here that time is spent off the gateway's event loop, within limits.
import { parentPort, workerData } from "node:worker_threads";
import { type ReportReadRequest, type ReportReadResult, readReportSource } from "./report-text.js";

const request = workerData as ReportReadRequest;
readReportSource(request).then(
  (result: ReportReadResult) => parentPort!.postMessage(result),
  (error: unknown) =>
    parentPort!.postMessage({
      refused: `could not be read (${(error as Error).message})`,
    } satisfies ReportReadResult),
);
