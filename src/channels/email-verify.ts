// Whether a mail's From domain is proven, checked here rather than believed from headers: DKIM signatures
// verified with mailauth (the public keys looked up through an injectable resolver), accepted when a
// passing, whole-body signature's domain is the From domain itself or DMARC (the domain's own published
// alignment rule) passes; or else the receiving server's own Authentication-Results (email-auth.ts).
// SPF is not checked here: medbot reads the mailbox after delivery and cannot know the connecting address
// for sure; a server that checks SPF reports it in its Authentication-Results. Also here: the one From
// address a mail must have, and which mail is automatic (RFC 3834) or from a list and must not be answered.
import { promises as dns } from "node:dns";
import type { DNSResolver, dkimVerify } from "mailauth";
import addressparser from "nodemailer/lib/addressparser/index.js";
import { domainOf, headerBlock, headerFields, senderAuthenticated } from "./email-auth.js";

/** Looks up DNS records like dns.promises.resolve (TXT answers as arrays of strings). */
export type DnsResolver = (name: string, rrtype: string) => Promise<unknown>;

/** The system's DNS, for production. */
export const systemResolver: DnsResolver = (name, rrtype) => dns.resolve(name, rrtype);

export type SenderProof =
  | { proven: true; method: "dkim" | "dmarc" | "authentication-results" }
  /** `temporary`: a DNS failure; the same mail may be proven when tried again. */
  | { proven: false; reason: string; temporary?: true };

export interface ProofOptions {
  /** The mail's single From address (see singleFromAddress). */
  fromAddress: string;
  /** channels.email.authservId: whose Authentication-Results count; empty for none. */
  authservId: string;
  resolver: DnsResolver;
}

/** The single address of the single From header, or what is wrong with it (two From headers, a list...). */
export function singleFromAddress(rawHeaders: string): { address: string } | { problem: string } {
  const froms = headerFields(rawHeaders).filter((field) => field.name === "from");
  if (froms.length === 0) return { problem: "the mail has no From header" };
  if (froms.length > 1) return { problem: `the mail has ${froms.length} From headers` };
  const parsed = addressparser(froms[0]?.value ?? "");
  if (parsed.some((entry) => "group" in entry)) {
    return { problem: "the From header names a group, not one address" };
  }
  if (parsed.length !== 1) return { problem: `the From header names ${parsed.length} addresses` };
  const address = (parsed[0] as { address?: string }).address?.trim().toLowerCase() ?? "";
  if (!/^[^@\s]+@[^@\s]+$/.test(address)) return { problem: "the From header has no valid address" };
  return { address };
}

/** Headers a mail has at most once (RFC 5322 3.6, RFC 2045): a second one could be added unsigned on top. */
const SINGLE_HEADERS = [
  "Subject",
  "Date",
  "Message-ID",
  "In-Reply-To",
  "References",
  "To",
  "Cc",
  "Sender",
  "Reply-To",
  "MIME-Version",
  "Content-Type",
  "Content-Transfer-Encoding",
];

/**
 * A header the mail has more than once that it may have only once, if any. DKIM covers the bottom
 * instance of a signed header, so a copy added on top would be read (by the parser) but not verified.
 */
export function repeatedHeaderProblem(rawHeaders: string): { problem: string } | undefined {
  const fields = headerFields(rawHeaders);
  for (const name of SINGLE_HEADERS) {
    const count = fields.filter((field) => field.name === name.toLowerCase()).length;
    if (count > 1) return { problem: `the mail has ${count} ${name} headers` };
  }
  return undefined;
}

/** Why a mail is automatic or list mail that medbot must neither answer nor hand to the agent, if it is. */
export function automaticMailReason(rawHeaders: string): string | undefined {
  for (const { name, value } of headerFields(rawHeaders)) {
    const token = (
      value
        .replace(/\([^()]*\)/g, " ")
        .trim()
        .split(/[\s;]+/)[0] ?? ""
    ).toLowerCase();
    if (name === "auto-submitted" && token && token !== "no")
      return `it is automatic (Auto-Submitted: ${token})`;
    if (name === "list-id" || name === "list-unsubscribe")
      return `it came from a mailing list (${headerName(name)})`;
    if (name === "precedence" && ["bulk", "junk", "list"].includes(token)) {
      return `it is bulk or list mail (Precedence: ${token})`;
    }
  }
  return undefined;
}

/** Whether the From domain of `source` (a whole raw message) is proven; if not, why, without any content. */
export async function proveSender(source: Buffer | string, options: ProofOptions): Promise<SenderProof> {
  const raw = typeof source === "string" ? source : source.toString("latin1");
  if (senderAuthenticated(headerBlock(raw), options.fromAddress, options.authservId)) {
    return { proven: true, method: "authentication-results" };
  }
  const fromDomain = domainOf(options.fromAddress);
  const resolver = options.resolver as DNSResolver;
  // Loaded with the first mail to prove, so an idle gateway does not carry mailauth and its dependencies.
  const { dkimVerify, dmarc } = await import("mailauth");
  const verified = await dkimVerify(source, { resolver });
  const signatures = verified.results.filter((result) => result.signingDomain);
  // A signature with an l= tag that covers only part of the body, or one that leaves the From header
  // unsigned (RFC 6376 5.4 requires it), leaves the rest forgeable.
  const passing = signatures.filter(
    (result) => result.status.result === "pass" && !result.status.underSized && coversFrom(result),
  );
  if (passing.some((result) => result.signingDomain.toLowerCase() === fromDomain)) {
    return { proven: true, method: "dkim" };
  }
  if (passing.length > 0) {
    const policy = await dmarc({
      headerFrom: options.fromAddress,
      spfDomains: [],
      dkimDomains: passing.map((result) => ({ domain: result.signingDomain })),
      resolver,
    });
    if (policy && policy.status.result === "pass") return { proven: true, method: "dmarc" };
    if (policy && policy.status.result === "temperror") {
      return {
        proven: false,
        temporary: true,
        reason: `the DMARC record of ${fromDomain} could not be read`,
      };
    }
  }
  const unchecked = signatures.find((result) => result.status.result === "temperror");
  if (unchecked) {
    const why = unchecked.status.comment || "DNS failure";
    return {
      proven: false,
      temporary: true,
      reason: `the DKIM signature of ${unchecked.signingDomain} could not be checked (${why})`,
    };
  }
  return { proven: false, reason: unprovenReason(signatures, passing, fromDomain) };
}

type Signature = Awaited<ReturnType<typeof dkimVerify>>["results"][number];

/** Whether a signature covers the From header (mailauth lists the signed headers as "From: To: Subject"). */
function coversFrom(signature: Signature): boolean {
  const keys = (signature as { signingHeaders?: { keys?: string } }).signingHeaders?.keys ?? "";
  return keys.split(/:\s*/).some((key) => key.trim().toLowerCase() === "from");
}

function unprovenReason(signatures: Signature[], passing: Signature[], fromDomain: string): string {
  if (signatures.length === 0) {
    return "no DKIM signature, and no Authentication-Results header of the configured authservId";
  }
  const ours = signatures.find((result) => result.signingDomain.toLowerCase() === fromDomain);
  if (ours) {
    if (ours.status.result === "pass" && !ours.status.underSized && !coversFrom(ours)) {
      return `the DKIM signature of ${fromDomain} does not cover the From header`;
    }
    const why = ours.status.underSized
      ? "covers only part of the body"
      : (ours.status.comment ?? ours.status.result);
    return `the DKIM signature of ${fromDomain} does not verify (${why})`;
  }
  const signers = [...new Set((passing.length > 0 ? passing : signatures).map((r) => r.signingDomain))];
  return `the DKIM signature is by ${signers.join(", ")}, not ${fromDomain}, and DMARC does not align them`;
}

function headerName(name: string): string {
  return name.replace(/(^|-)(\w)/g, (_all, dash: string, letter: string) => dash + letter.toUpperCase());
}
