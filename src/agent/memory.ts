// Long-term memory. Turns leave a session's context only after they are summarised here. Owners (grants "*")
// share the household's memory/MEMORY.md; every other person has memory/people/<person>.md, so notes made
// while talking with an owner about any member never reach the context of someone granted fewer members.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Actor } from "../access/actor.js";
import { writePrivateFile } from "../storage/private-fs.js";
import { keepPreviousNotes, NotesRefused, notesRefusal } from "./memory-guard.js";
import type { ChatProvider } from "./provider.js";
import type { SessionMessage } from "./sessions.js";

export class Memory {
  /** The change under way; it never rejects, so the next one always runs. */
  private pending: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  /** Runs `change` after the changes already under way, so two summaries never overwrite each other. */
  exclusive<T>(change: () => Promise<T>): Promise<T> {
    const run = this.pending.then(change);
    this.pending = run.catch(() => {});
    return run;
  }

  read(): string {
    try {
      return fs.readFileSync(this.file, "utf8");
    } catch {
      return "";
    }
  }

  write(text: string): void {
    writePrivateFile(this.file, text.endsWith("\n") ? text : `${text}\n`);
  }

  /**
   * Replaces the notes with the model's rewrite, keeping the old version in history/ beside the file; throws
   * NotesRefused (the notes unchanged) when the rewrite would lose them (memory-guard.ts says when).
   */
  replace(text: string, now = new Date()): void {
    const previous = this.read();
    const refusal = notesRefusal(previous, text);
    if (refusal) throw new NotesRefused(refusal);
    if (previous.trim()) keepPreviousNotes(this.file, previous, now);
    this.write(text);
  }
}

/** Workspace-relative notes file of a person who is not an owner; config names are kept, others made safe. */
export function personalMemoryPath(person: string): string {
  const name = /^[A-Za-z0-9][\w.-]{0,63}$/.test(person)
    ? person
    : // Senders who are no configured person ("telegram:123"): a safe name, unique by hash.
      `_${person.replace(/[^\w.-]+/g, "_").slice(0, 40)}-${createHash("sha256").update(person).digest("hex").slice(0, 10)}`;
  return path.join("memory", "people", `${name}.md`);
}

/** One Memory per notes file, so summaries of sessions sharing a file are serialised by its lock. */
export class Memories {
  private readonly byFile = new Map<string, Memory>();

  constructor(
    private readonly workspace: string,
    /** The household's memory/MEMORY.md, shared by owners. */
    readonly household: Memory,
  ) {
    this.byFile.set(household.file, household);
  }

  /** The notes this actor's conversations are summarised into and their prompts show. */
  of(actor: Actor): Memory {
    if (actor.grants === "*") return this.household;
    const file = path.join(this.workspace, personalMemoryPath(actor.person));
    let memory = this.byFile.get(file);
    if (!memory) {
      memory = new Memory(file);
      this.byFile.set(file, memory);
    }
    return memory;
  }

  /** Where the notes are, workspace-relative (as the model may read them with read_file). */
  location(memory: Memory): string {
    return path.relative(this.workspace, memory.file);
  }
}

/** Marks the consolidation request, so it is recognisable in logs and test fakes. */
export const CONSOLIDATION_PROMPT = [
  "You maintain MEMORY.md, the long-term notes of a household health assistant.",
  "Merge the conversation below into the current MEMORY.md and return the complete new file, nothing else.",
  "Keep what will matter later: preferences, household context, plans, open questions, what the user asked",
  "to remember. Health records (symptoms, medications, readings) live in the archive; note only that they",
  "were discussed. Be concise; drop what is obsolete.",
  "Keep every heading (# lines) of the current file and put each note under the heading it belongs to.",
].join("\n");

/**
 * Summarises `messages` into memory; throws if the model gives nothing usable (then nothing is archived),
 * NotesRefused when its answer would lose the notes (then they stay as they were).
 */
export async function summariseIntoMemory(
  provider: ChatProvider,
  memory: Memory,
  messages: readonly SessionMessage[],
  signal?: AbortSignal,
): Promise<void> {
  const transcript = messages
    .map((m) => `${m.role.toUpperCase()} (${m.createdAt}): ${m.content}`)
    .join("\n\n");
  // Read, merge and write as one step: sessions consolidating in parallel would otherwise lose notes.
  await memory.exclusive(async () => {
    const reply = await provider.complete({
      messages: [
        { role: "system", content: CONSOLIDATION_PROMPT },
        {
          role: "user",
          content: `## Current MEMORY.md\n${memory.read() || "(empty)"}\n\n## Conversation to archive\n${transcript}`,
        },
      ],
      signal,
    });
    const text = reply.content.trim();
    if (!text) throw new Error("the model returned an empty memory");
    memory.replace(text);
  });
}
