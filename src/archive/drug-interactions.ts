// Drug-drug interaction lookups in DDInter (https://ddinter.scbdd.com), cached in SQLite.
//
// DDInter publishes no documented JSON API. Its public site answers these requests, which its own pages
// make, and which several independent clients use (verified from their code, not against the live site:
// no network here):
//   GET {base}/check-datasource/{name}/            the Interaction Checker's drug search
//       -> {"data": [{"name": "Warfarin", "internalID": "DDInter1951"}, ...]}
//   GET {base}/ddinter/grapher-datasource/{id}/    every interaction of one drug (the drug page's graph)
//       -> {"info": {"id": "DDInter1951", "Name": "Warfarin"},
//           "interactions": [{"id": "DDInter20", "name": "Aspirin", "level": ["Major"], "actions": ["Synergy"]}]}
// Levels are Major, Moderate, Minor and Unknown. A pair is looked up by resolving both names (one request
// per drug) and reading one drug's interaction list (one request per drug, shared by its pairs).
// Only drug names leave the machine; nothing about a member is sent or cached. TLS is verified (global
// fetch); plain http is accepted only for a loopback test server. Offline, a timeout or an error answer
// means "could not check", never "no interaction".
import type { Db } from "../storage/db.js";

export const SEVERITIES = ["Major", "Moderate", "Minor", "Unknown"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What DDInter says about one pair of drugs, or why it could not be asked. */
export type PairAnswer =
  | { kind: "interaction"; severity: Severity; mechanisms: string[]; names: [string, string] }
  | { kind: "none"; names: [string, string] }
  | { kind: "unknown_drug"; drug: string; suggestions: string[] }
  | { kind: "unavailable"; reason: string };

export interface PairResult {
  /** The two drugs as asked, normalised and sorted. */
  drugs: [string, string];
  answer: PairAnswer;
  cached: boolean;
}

export interface DrugInteractionOptions {
  baseUrl: string;
  timeoutMs: number;
  /** Answers younger than this are reused from the cache; 0 always asks DDInter. */
  cacheDays: number;
  fetch?: typeof fetch;
  clock?: () => Date;
  signal?: AbortSignal;
}

/** A drug name as compared and cached: Unicode-normalised, lower case, single spaces. */
export function normaliseDrugName(name: string): string {
  return name.normalize("NFKC").toLowerCase().trim().replace(/\s+/g, " ");
}

/** The cache key of a pair: both normalised names, sorted, so "B + a" and "A + b" share one row. */
export function pairKey(a: string, b: string): string {
  return JSON.stringify([normaliseDrugName(a), normaliseDrugName(b)].sort());
}

/** Checks every pair of 2 to 5 drugs against DDInter (cached answers first). Throws RangeError on bad names. */
export async function checkInteractions(
  db: Db,
  names: readonly string[],
  options: DrugInteractionOptions,
): Promise<PairResult[]> {
  const drugs = [...new Set(names.map(normaliseDrugName))];
  if (drugs.some((d) => !d || d.length > 100))
    throw new RangeError("Each drug name must be 1 to 100 characters.");
  if (drugs.length !== names.length) throw new RangeError("Name each drug once.");
  if (drugs.length < 2 || drugs.length > 5) throw new RangeError("Give 2 to 5 different drug names.");
  checkBaseUrl(options.baseUrl);
  const now = (options.clock ?? (() => new Date()))();
  const client = new DdinterClient(options);
  const results: PairResult[] = [];
  for (let i = 0; i < drugs.length; i++) {
    for (let j = i + 1; j < drugs.length; j++) {
      const pair = [drugs[i]!, drugs[j]!].sort() as [string, string];
      const cached = readCache(db, pair, now, options.cacheDays);
      if (cached) {
        results.push({ drugs: pair, answer: cached, cached: true });
        continue;
      }
      const answer = await client.lookUp(pair);
      if (answer.kind === "interaction" || answer.kind === "none") writeCache(db, pair, answer, now);
      results.push({ drugs: pair, answer, cached: false });
    }
  }
  return results;
}

/** Refuses a base URL that would send drug names unencrypted beyond this machine. */
function checkBaseUrl(baseUrl: string): void {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new RangeError(`The DDInter address "${baseUrl}" is not a URL.`);
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new RangeError(`The DDInter address "${baseUrl}" must use https (http only for 127.0.0.1).`);
  }
}

function readCache(db: Db, pair: [string, string], now: Date, cacheDays: number): PairAnswer | undefined {
  if (cacheDays <= 0) return undefined;
  const row = db
    .prepare("SELECT answer, fetched_at AS fetchedAt FROM drug_interaction_cache WHERE pair_key = ?")
    .get(pairKey(...pair)) as { answer: string; fetchedAt: string } | undefined;
  if (!row || now.getTime() - Date.parse(row.fetchedAt) > cacheDays * 86_400_000) return undefined;
  try {
    return JSON.parse(row.answer) as PairAnswer;
  } catch {
    return undefined;
  }
}

function writeCache(db: Db, pair: [string, string], answer: PairAnswer, now: Date): void {
  db.prepare(
    "INSERT OR REPLACE INTO drug_interaction_cache (pair_key, answer, fetched_at) VALUES (?, ?, ?)",
  ).run(pairKey(...pair), JSON.stringify(answer), now.toISOString());
}

interface DdinterDrug {
  id: string;
  name: string;
}

interface DdinterPartner {
  severity: Severity;
  mechanisms: string[];
  name: string;
}

/** Outcome of one DDInter request: the value, or why there is none. */
type Lookup<T> = { ok: true; value: T } | { ok: false; answer: PairAnswer };

/** One check's conversation with DDInter: each drug searched once, each interaction list read once. */
class DdinterClient {
  private readonly drugs = new Map<string, Lookup<DdinterDrug>>();
  private readonly graphs = new Map<string, Lookup<Map<string, DdinterPartner>>>();
  /** Set on the first network failure, so one outage costs one timeout, not one per pair. */
  private down: string | undefined;

  constructor(private readonly options: DrugInteractionOptions) {}

  async lookUp([a, b]: [string, string]): Promise<PairAnswer> {
    const first = await this.drug(a);
    if (!first.ok) return first.answer;
    const second = await this.drug(b);
    if (!second.ok) return second.answer;
    const [one, other] = this.graphs.has(second.value.id) ? [second, first] : [first, second];
    const graph = await this.graph(one.value.id);
    if (!graph.ok) return graph.answer;
    const names: [string, string] = [first.value.name, second.value.name];
    const partner = graph.value.get(other.value.id);
    return partner
      ? { kind: "interaction", severity: partner.severity, mechanisms: partner.mechanisms, names }
      : { kind: "none", names };
  }

  private async drug(name: string): Promise<Lookup<DdinterDrug>> {
    const known = this.drugs.get(name);
    if (known) return known;
    const reply = await this.get(`/check-datasource/${encodeURIComponent(name)}/`);
    let result: Lookup<DdinterDrug>;
    if (!reply.ok) result = reply;
    else {
      const list = (reply.value as { data?: unknown })?.data;
      const matches = Array.isArray(list) ? list.filter(isSearchHit) : undefined;
      const exact = matches?.find((m) => normaliseDrugName(m.name) === name);
      if (!matches) result = malformed();
      else if (exact) result = { ok: true, value: { id: exact.internalID, name: exact.name } };
      else {
        const suggestions = matches.slice(0, 3).map((m) => m.name);
        result = { ok: false, answer: { kind: "unknown_drug", drug: name, suggestions } };
      }
    }
    this.drugs.set(name, result);
    return result;
  }

  private async graph(id: string): Promise<Lookup<Map<string, DdinterPartner>>> {
    const known = this.graphs.get(id);
    if (known) return known;
    const reply = await this.get(`/ddinter/grapher-datasource/${encodeURIComponent(id)}/`);
    let result: Lookup<Map<string, DdinterPartner>>;
    const list = reply.ok ? (reply.value as { interactions?: unknown })?.interactions : undefined;
    if (!reply.ok) result = reply;
    else if (!Array.isArray(list)) result = malformed();
    else {
      const partners = new Map<string, DdinterPartner>();
      for (const item of list) {
        const partner = readPartner(item);
        if (partner) partners.set(partner.id, partner);
      }
      result = { ok: true, value: partners };
    }
    this.graphs.set(id, result);
    return result;
  }

  /** GETs a DDInter path as JSON; any failure becomes an "unavailable" answer saying what happened. */
  private async get(pathname: string): Promise<Lookup<unknown>> {
    const unavailable = (reason: string): Lookup<unknown> => ({
      ok: false,
      answer: { kind: "unavailable", reason },
    });
    if (this.down) return unavailable(this.down);
    const { baseUrl, timeoutMs, signal } = this.options;
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const response = await (this.options.fetch ?? fetch)(`${baseUrl.replace(/\/+$/, "")}${pathname}`, {
        headers: { accept: "application/json", "x-requested-with": "XMLHttpRequest" },
        redirect: "error",
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      if (!response.ok) {
        await response.body?.cancel();
        return unavailable(`DDInter answered with an error (HTTP ${response.status})`);
      }
      try {
        return { ok: true, value: await response.json() };
      } catch (error) {
        if (timeout.aborted || signal?.aborted) throw error;
        return malformed();
      }
    } catch (error) {
      this.down = timeout.aborted
        ? `DDInter did not answer within ${timeoutMs / 1000} s`
        : `DDInter could not be reached (${networkCause(error)})`;
      return unavailable(this.down);
    }
  }
}

function malformed(): { ok: false; answer: PairAnswer } {
  return {
    ok: false,
    answer: { kind: "unavailable", reason: "DDInter's answer was not in the expected format" },
  };
}

function isSearchHit(value: unknown): value is { name: string; internalID: string } {
  const hit = value as { name?: unknown; internalID?: unknown } | null;
  return typeof hit?.name === "string" && typeof hit.internalID === "string";
}

/** One entry of a drug's interaction list; the most severe level when several are given. */
function readPartner(value: unknown): (DdinterPartner & { id: string }) | undefined {
  const item = value as { id?: unknown; name?: unknown; level?: unknown; actions?: unknown } | null;
  if (typeof item?.id !== "string") return undefined;
  const levels = (Array.isArray(item.level) ? item.level : [item.level]).map(severityOf);
  const severity = SEVERITIES.find((s) => levels.includes(s)) ?? "Unknown";
  const actions = Array.isArray(item.actions) ? item.actions : [item.actions];
  const mechanisms = actions.filter((a): a is string => typeof a === "string" && a.trim() !== "");
  return { id: item.id, name: typeof item.name === "string" ? item.name : item.id, severity, mechanisms };
}

/** "Major" / "major" / 3 -> Major; anything else -> Unknown. */
function severityOf(level: unknown): Severity {
  const byNumber: Record<number, Severity> = { 3: "Major", 2: "Moderate", 1: "Minor" };
  if (typeof level === "number") return byNumber[level] ?? "Unknown";
  const text = String(level ?? "")
    .trim()
    .toLowerCase();
  return SEVERITIES.find((s) => s.toLowerCase() === text) ?? "Unknown";
}

function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error as Error)?.message ?? "network error";
}
