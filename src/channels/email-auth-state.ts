// What the email channel last learned about its senders' proof, kept in a small private file in the data
// folder so that `medbot doctor` can say "no verifiable mail yet" without connecting to the mailbox.
// Written by the running adapter only when the answer changes (first proven mail, a new refusal reason).
import * as fs from "node:fs";
import * as path from "node:path";
import { writePrivateFile } from "../storage/private-fs.js";

/** The file's content: times and a reason, never a sender or any message content. */
export interface EmailAuthState {
  /** When a mail's From domain was last proven, and how. */
  lastProvenAt?: string;
  lastProvenBy?: string;
  /** When a mail of an allowed sender was last refused for lack of proof, and why. */
  lastUnprovenAt?: string;
  lastUnprovenReason?: string;
}

/** Where the state of the email channel of the instance whose data folder is `home` lives. */
export function emailAuthStateFile(home: string): string {
  return path.join(home, "state", "email-auth.json");
}

/** The recorded state, or an empty one when the file is missing or unreadable. */
export function readEmailAuthState(file: string): EmailAuthState {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
    return parsed && typeof parsed === "object" ? (parsed as EmailAuthState) : {};
  } catch {
    return {};
  }
}

/** Keeps the state in memory and writes it through private-fs when it changes (at most once a minute per kind). */
export class EmailAuthRecorder {
  private state: EmailAuthState;

  constructor(
    private readonly file: string | undefined,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.state = file ? readEmailAuthState(file) : {};
  }

  proven(method: string): void {
    const now = this.clock();
    if (this.state.lastProvenBy === method && recent(this.state.lastProvenAt, now)) return;
    this.write({ ...this.state, lastProvenAt: now.toISOString(), lastProvenBy: method });
  }

  unproven(reason: string): void {
    const now = this.clock();
    if (this.state.lastUnprovenReason === reason && recent(this.state.lastUnprovenAt, now)) return;
    this.write({ ...this.state, lastUnprovenAt: now.toISOString(), lastUnprovenReason: reason });
  }

  private write(state: EmailAuthState): void {
    this.state = state;
    if (this.file) writePrivateFile(this.file, `${JSON.stringify(state, null, 2)}\n`);
  }
}

function recent(at: string | undefined, now: Date): boolean {
  return at !== undefined && now.getTime() - Date.parse(at) < 60_000;
}
