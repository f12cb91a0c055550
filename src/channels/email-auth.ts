// Which Authentication-Results header (RFC 8601) is the receiving mail server's own, and whether it vouches
// for the From domain. The sender can write any header, Received and Authentication-Results included, so a
// header counts only when (1) it names the configured authservId (none configured: no header counts) and
// (2) it sits above the topmost Received header. Every server that accepts a message prepends a Received
// stamp; what lies below the topmost stamp was written before our server saw the mail (by the sender or
// an earlier hop). A message with no Received header at all (a server that stamps nothing, IMAP APPEND)
// therefore has no header of the server's. A server that puts its header below a Received of its own
// (Gmail, Dovecot LMTP stamps) is not trusted this way; the local DKIM check (email-verify.ts) covers it.

/** One method result of an Authentication-Results header, with its properties (smtp.mailfrom, header.d...). */
export interface AuthResult {
  method: string;
  result: string;
  properties: Record<string, string>;
}

/** One header field of a raw header block, unfolded. */
export interface HeaderField {
  /** Lower case. */
  name: string;
  value: string;
}

/** The header block of a raw message: everything before the first empty line. */
export function headerBlock(source: string): string {
  const end = source.search(/\r?\n\r?\n/);
  return end < 0 ? source : source.slice(0, end + 1);
}

/** The unfolded header fields of a raw header block, top first. */
export function headerFields(rawHeaders: string): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const line of rawHeaders.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const match = /^([^:\s]+)\s*:(.*)$/.exec(line);
    if (match?.[1] !== undefined)
      fields.push({ name: match[1].toLowerCase(), value: (match[2] ?? "").trim() });
  }
  return fields;
}

/** The values of the Authentication-Results headers of `authservId` above the topmost Received header. */
export function serverAuthenticationResults(rawHeaders: string, authservId: string): string[] {
  const wanted = authservId.trim().toLowerCase();
  if (!wanted) return [];
  const fields = headerFields(rawHeaders);
  const stamp = fields.findIndex((field) => field.name === "received");
  if (stamp < 0) return [];
  return fields
    .slice(0, stamp)
    .filter((field) => field.name === "authentication-results" && authservIdOf(field.value) === wanted)
    .map((field) => field.value);
}

/** The authserv-id of an Authentication-Results value: its first token before ";" (no comment, no version). */
export function authservIdOf(value: string): string {
  const [head = ""] = value.replace(/\([^()]*\)/g, " ").split(";");
  return (head.trim().split(/\s+/)[0] ?? "").toLowerCase();
}

/** Parses "authserv-id; spf=pass smtp.mailfrom=a@b; dkim=pass header.d=b" into its method results. */
export function parseAuthenticationResults(value: string): AuthResult[] {
  const withoutComments = value.replace(/\([^()]*\)/g, " ");
  const [, ...parts] = withoutComments.split(";");
  const results: AuthResult[] = [];
  for (const part of parts) {
    const tokens = part.trim().split(/\s+/).filter(Boolean);
    const head = /^([\w.-]+)\s*=\s*([\w-]+)$/.exec(tokens[0] ?? "");
    if (!head?.[1] || !head[2]) continue;
    const properties: Record<string, string> = {};
    for (const token of tokens.slice(1)) {
      const property = /^([\w.-]+)=(.+)$/.exec(token);
      if (property?.[1] && property[2]) {
        properties[property[1].toLowerCase()] = property[2].replace(/^"|"$/g, "");
      }
    }
    results.push({ method: head[1].toLowerCase(), result: head[2].toLowerCase(), properties });
  }
  return results;
}

/** The domain of an address or a bare domain ("@b.example" and "a@b.example" → "b.example"), lower case. */
export function domainOf(value: string): string {
  const at = value.lastIndexOf("@");
  return (at >= 0 ? value.slice(at + 1) : value).trim().toLowerCase().replace(/>$/, "");
}

/**
 * Whether the receiving server's topmost Authentication-Results header of `authservId` vouches for
 * `fromAddress`: spf=pass with smtp.mailfrom in the From domain, or dkim=pass with header.d / header.i of it.
 * Without `authservId`, never.
 */
export function senderAuthenticated(rawHeaders: string, fromAddress: string, authservId = ""): boolean {
  const [value] = serverAuthenticationResults(rawHeaders, authservId);
  if (!value) return false;
  const fromDomain = domainOf(fromAddress);
  if (!fromDomain) return false;
  return parseAuthenticationResults(value).some((entry) => {
    if (entry.result !== "pass") return false;
    if (entry.method === "spf") {
      const mailFrom = entry.properties["smtp.mailfrom"];
      return mailFrom !== undefined && domainOf(mailFrom) === fromDomain;
    }
    if (entry.method === "dkim") {
      const signer = entry.properties["header.d"] ?? entry.properties["header.i"];
      return signer !== undefined && domainOf(signer) === fromDomain;
    }
    return false;
  });
}
