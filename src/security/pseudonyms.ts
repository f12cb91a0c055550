// Reversible redaction. The model provider sees each identifier (phone, email, ID and insurance number) as a
// pseudonym such as ⟨phone-1⟩, the same one for the same value throughout a conversation (across turns and
// restarts), and medbot puts the real value back in what the model hands to tools, writes to memory and
// replies, so nothing ever stores a placeholder. The map lives per session key in medbot.db (never in a log).
// A pseudonym the conversation never gave out (invented, another conversation's, or retired) is refused.
import { type Db, nowIso, statement, writeTransaction } from "../storage/db.js";
import { findIdentifiers, type IdentifierKind, replaceIdentifiers } from "./redact.js";

/** The word for each kind inside a pseudonym: ⟨phone-1⟩, ⟨email-2⟩, ⟨id-number-1⟩, ⟨insurance-number-1⟩. */
const TOKEN_WORD = {
  phone: "phone",
  email: "email",
  idNumber: "id-number",
  insuranceNumber: "insurance-number",
} as const satisfies Record<IdentifierKind, string>;

/** What stands in a reply for a pseudonym medbot refused, so the person never reads a made-up token. */
const UNKNOWN_TEXT: Record<string, string> = {
  phone: "(unknown phone number)",
  email: "(unknown email address)",
  "id-number": "(unknown ID number)",
  "insurance-number": "(unknown insurance number)",
};

/**
 * Anything a model may write for an identifier: a pseudonym in any bracket pair, numbered or not, and the
 * placeholders of plain redaction ([phone]). Only a pseudonym this conversation gave out, written exactly, is
 * put back; every other match is refused.
 */
const PSEUDONYM_LIKE = /[⟨〈<[《](phone|email|id-number|insurance-number)(?:-\d+)?[⟩〉>\]》]/giu;

/** The model's text with real values back, and what it held that medbot refused (replaced by a note). */
export interface Revealed {
  readonly text: string;
  readonly refused: readonly string[];
}

/** Masked texts remembered by one map: the system prompt and history come back on every tool round. */
const MASK_CACHE_ENTRIES = 512;

/** The pseudonyms of one conversation (session key): read from medbot.db once, new ones added as they come. */
export class Pseudonyms {
  /** Active pseudonym by normalised value, and real value by pseudonym. */
  private readonly tokens = new Map<string, string>();
  private readonly values = new Map<string, string>();
  private readonly masked = new Map<string, string>();

  constructor(
    private readonly db: Db,
    readonly sessionKey: string,
    private readonly clock: () => Date = () => new Date(),
  ) {
    const rows = statement(
      db,
      "SELECT token, value_key AS valueKey, value FROM pseudonyms WHERE session_key = ? AND retired_at IS NULL",
    ).all(sessionKey) as { token: string; valueKey: string; value: string }[];
    for (const row of rows) this.remember(row.token, row.valueKey, row.value);
  }

  /** `text` with every identifier replaced by its pseudonym; a value seen for the first time gets a new one. */
  mask(text: string): string {
    const cached = this.masked.get(text);
    if (cached !== undefined) return cached;
    const spans = findIdentifiers(text);
    const fresh = new Map<string, { kind: IdentifierKind; value: string }>();
    for (const span of spans) {
      const value = text.slice(span.start, span.end);
      const key = valueKey(span.kind, value);
      if (!this.tokens.has(key) && !fresh.has(key)) fresh.set(key, { kind: span.kind, value });
    }
    if (fresh.size > 0) this.add(fresh);
    const result = replaceIdentifiers(
      text,
      spans,
      (span) => this.tokens.get(valueKey(span.kind, text.slice(span.start, span.end)))!,
    );
    if (this.masked.size >= MASK_CACHE_ENTRIES) this.masked.delete(this.masked.keys().next().value as string);
    this.masked.set(text, result);
    return result;
  }

  /** The model's `text` with this conversation's pseudonyms replaced by their values; any other is refused. */
  reveal(text: string): Revealed {
    const refused: string[] = [];
    const revealed = text.replace(PSEUDONYM_LIKE, (match, word: string) => {
      const value = this.values.get(match);
      if (value !== undefined) return value;
      refused.push(match);
      return UNKNOWN_TEXT[word.toLowerCase()]!;
    });
    return { text: revealed, refused };
  }

  private remember(token: string, key: string, value: string): void {
    this.tokens.set(key, token);
    this.values.set(token, value);
  }

  /** Gives new values their pseudonyms in one transaction; numbers go on from every one ever given here. */
  private add(fresh: Map<string, { kind: IdentifierKind; value: string }>): void {
    const now = nowIso(this.clock);
    writeTransaction(this.db, () => {
      const existing = statement(
        this.db,
        "SELECT token, value FROM pseudonyms WHERE session_key = ? AND value_key = ?",
      );
      const count = statement(
        this.db,
        "SELECT COUNT(*) AS n FROM pseudonyms WHERE session_key = ? AND kind = ?",
      );
      const insert = statement(
        this.db,
        `INSERT INTO pseudonyms (session_key, token, kind, value_key, value, created_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
      );
      const next = new Map<IdentifierKind, number>();
      for (const [key, { kind, value }] of fresh) {
        // Another process (the CLI beside the gateway) may have named this value since this map was read.
        const row = existing.get(this.sessionKey, key) as { token: string; value: string } | undefined;
        if (row) {
          this.remember(row.token, key, row.value);
          continue;
        }
        const n = next.get(kind) ?? (count.get(this.sessionKey, kind) as { n: number }).n + 1;
        next.set(kind, n + 1);
        const token = `⟨${TOKEN_WORD[kind]}-${n}⟩`;
        insert.run(this.sessionKey, token, kind, key, value, now);
        this.remember(token, key, value);
      }
    });
  }
}

/**
 * Forgets the values of a conversation's pseudonyms (its history was set aside or summarised away). The
 * tokens stay, retired, so a number is never given to another value: a turn still holding an old pseudonym
 * gets it refused, never swapped for a different identifier.
 */
export function retirePseudonyms(db: Db, sessionKey: string, clock: () => Date = () => new Date()): number {
  return statement(
    db,
    `UPDATE pseudonyms SET value = NULL, value_key = NULL, retired_at = ?
       WHERE session_key = ? AND retired_at IS NULL`,
  ).run(nowIso(clock), sessionKey).changes;
}

/** Why a tool call holding refused pseudonyms was not run, for the model to read. */
export function refusedPseudonymsError(tool: string, refused: readonly string[]): string {
  const named = [...new Set(refused)].join(", ");
  return (
    `Error: ${tool} was not run: ${named} ${refused.length === 1 ? "is" : "are"} not a pseudonym this conversation ` +
    "gave out, so medbot cannot put a real value in its place and nothing was stored. Use a pseudonym exactly as " +
    "it appeared (⟨kind-N⟩), or ask the person for the value."
  );
}

/** One value written two ways ("+86 138 0013 8000", "+8613800138000") is one identifier. */
function valueKey(kind: IdentifierKind, value: string): string {
  // Full-width digits read as ASCII, zero-width characters dropped: as the detectors read the text.
  const plain = value.normalize("NFKC").replace(/[\u200b-\u200d\u2060\ufeff]/g, "");
  if (kind === "phone") return `phone:${plain.replace(/[^\d+]/g, "")}`;
  if (kind === "email") return `email:${plain.toLowerCase()}`;
  return `${kind}:${plain.replace(/[\s-]/g, "").toUpperCase()}`;
}
