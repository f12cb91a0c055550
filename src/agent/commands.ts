// Chat commands every channel understands; they are answered without the model.
import { NotesRefused } from "./memory-guard.js";

export type ChatCommand = "new" | "help" | "stop";

/** The command a message is, if it is one ("/new", "/help", "/stop", "/start" as help; "/new@bot" too). */
export function parseCommand(text: string): ChatCommand | undefined {
  const match = /^\/(new|help|stop|start)(?:@\w+)?\s*$/i.exec(text.trim());
  if (!match) return undefined;
  const word = match[1]!.toLowerCase();
  return word === "start" ? "help" : (word as ChatCommand);
}

/** A person's decision on a draft send to a contact: "/confirm CODE" or "/cancel CODE". */
export interface DraftDecision {
  decision: "confirm" | "cancel";
  code: string;
}

/** The decision a message is, if it is one; only ever read from a person's own message, never from the model. */
export function parseDraftDecision(text: string): DraftDecision | undefined {
  const match = /^\/(confirm|cancel)(?:@\w+)?\s+([A-Za-z0-9]{4,12})\s*$/i.exec(text.trim());
  if (!match) return undefined;
  return { decision: match[1]!.toLowerCase() as DraftDecision["decision"], code: match[2]!.toUpperCase() };
}

export const HELP_TEXT = [
  "I'm medbot, your family's private health assistant. Tell me about symptoms, medicines, readings",
  "(blood pressure, glucose, weight...) or reports, and ask me about anyone's health record.",
  "",
  "/new  start a fresh conversation (I keep the key points in memory)",
  "/stop cancel what I'm working on",
  "/confirm CODE  send a prepared summary to a contact (your doctor); /cancel CODE drops it",
  "/help show this message",
].join("\n");

/** The /new reply when the conversation could not be summarised: it and the saved notes are both kept. */
export function newSessionKeptReply(error: unknown): string {
  if (error instanceof NotesRefused) {
    return (
      `I kept your saved notes as they were: the summary I got back would have lost part of them (${error.reason}). ` +
      "This conversation is kept too; please try /new again later."
    );
  }
  return "I could not save this conversation's key points to memory, so I kept it. Please try /new again later.";
}
