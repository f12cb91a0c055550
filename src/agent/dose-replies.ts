// The deterministic answer to a medication reminder: a plain "taken" in the chat a reminder went to records
// each medication of that reminder as taken, without asking the model. Anything less clear (other words, no
// recent reminder, reminders of two members at once, a person not granted the member) is left to the model.
import { type Actor, mayAccess } from "../access/actor.js";
import type { FamilyArchive } from "../archive/archive.js";
import { dosesOf, recordDose } from "../archive/doses.js";
import type { Entry } from "../archive/entries.js";
import { MEDICATION_SOURCE, type ReminderGroup, reminderAt } from "../schedules/medication-reminders.js";
import { type Db, writeTransaction } from "../storage/db.js";
import type { TurnOrigin } from "./context.js";

/** A reply answers a reminder sent this long ago at most. */
export const DOSE_REPLY_WINDOW_MS = 3 * 3_600_000;

const TAKEN_WORDS = new Set(["taken", "done", "took it", "吃了", "已服", "✅"]);

/** True when the text is nothing but "taken" (or done, took it, 吃了, 已服, ✅), give or take a full stop. */
export function isTakenReply(text: string): boolean {
  const plain = text
    .normalize("NFKC")
    .replace(/\uFE0F/g, "")
    .trim()
    .replace(/[.!。！]+$/u, "")
    .trim()
    .toLowerCase();
  return TAKEN_WORDS.has(plain);
}

export interface DoseReplyInput {
  db: Db;
  archive: FamilyArchive;
  /** Who replied; they must be granted the member the reminder was for. */
  actor: Actor;
  /** The chat the reply came from: only reminders sent to it are answered. */
  origin: TurnOrigin;
  text: string;
  now: Date;
  /** The host's timezone as the reminders use it (to know which medications a reminder listed). */
  hostTimeZone?: string;
}

interface Candidate {
  group: ReminderGroup;
  /** Medications of the reminder with nothing recorded yet for that dose. */
  open: Entry<"medications">[];
}

/** Records a plain "taken" against the latest unanswered reminder in this chat; the reply, or undefined. */
export function answerDoseReply(input: DoseReplyInput): string | undefined {
  if (!isTakenReply(input.text)) return undefined;
  const candidates = sentReminders(input).flatMap((sent): Candidate[] => {
    if (!mayAccess(input.actor, sent.memberId)) return [];
    const group = reminderAt(input.db, sent.memberId, sent.dueAt, input.hostTimeZone);
    if (!group) return [];
    const scheduledAt = group.at.toISOString();
    const open = group.medications.filter(
      (m) => !dosesOf(input.db, m.id).some((dose) => dose.scheduledAt === scheduledAt),
    );
    return open.length ? [{ group, open }] : [];
  });
  const latest = Math.max(...candidates.map((c) => c.group.at.getTime()));
  const answered = candidates.filter((c) => c.group.at.getTime() === latest);
  const members = new Set(answered.map((c) => c.group.member.id));
  // Two members' reminders at once: "taken" does not say whose, so the model asks.
  if (members.size !== 1) return undefined;
  const { group, open } = answered[0]!;
  const scheduled = group.at.toISOString();
  writeTransaction(input.db, () => {
    for (const medication of open) {
      recordDose(input.archive, input.actor, group.member.id, {
        medication: String(medication.id),
        outcome: "taken",
        scheduled,
        at: input.now.toISOString(),
      });
    }
  });
  const names = open.map((m) => [m.name, m.dose].filter(Boolean).join(" "));
  return `Recorded: ${group.member.displayName} took ${joinAnd(names)} (${group.time} dose).`;
}

/** Medication reminders sent to this chat within the reply window, newest first. */
function sentReminders(input: DoseReplyInput): { memberId: string; dueAt: Date }[] {
  const since = input.now.getTime() - DOSE_REPLY_WINDOW_MS;
  const rows = input.db
    .prepare(
      `SELECT d.member_id AS memberId, d.due_at AS dueAt, d.settled_at AS settledAt
       FROM scheduled_deliveries d JOIN gateway_outbox o ON o.id = d.outbox_id
       WHERE d.source = ? AND d.outcome = 'sent' AND d.member_id IS NOT NULL AND o.channel = ? AND o.chat_id = ?
       ORDER BY d.due_at DESC, d.id DESC LIMIT 50`,
    )
    .all(MEDICATION_SOURCE, input.origin.channel, input.origin.chatId) as {
    memberId: string;
    dueAt: string;
    settledAt: string;
  }[];
  return rows.flatMap((row) => {
    const sentAt = Date.parse(row.settledAt);
    if (!(sentAt >= since && sentAt <= input.now.getTime())) return [];
    return [{ memberId: row.memberId, dueAt: new Date(row.dueAt) }];
  });
}

/** "a", "a and b", "a, b and c". */
function joinAnd(items: string[]): string {
  return items.length > 1 ? `${items.slice(0, -1).join(", ")} and ${items.at(-1)}` : (items[0] ?? "");
}
