// Whether an email's From address is vouched for by the receiving mail server: its Authentication-Results
// header (RFC 8601) must say spf=pass for an envelope sender in the From domain, or dkim=pass for a
// signature of the From domain. Only one Authentication-Results header counts: the receiving server adds its
// own above everything the sender wrote, so the topmost one is the server's and a forged one further down is
// ignored. With an authserv-id configured, only headers naming that id count (the topmost of them): a
// provider that adds none then leaves nothing to trust, instead of the sender's own header on top.

/** One method result of an Authentication-Results header, with its properties (smtp.mailfrom, header.d...). */
export interface AuthResult {
  method: string;
  result: string;
  properties: Record<string, string>;
}

/** Unfolded header lines of a raw header block, each "name: value". */
function headerLines(rawHeaders: string): string[] {
  return rawHeaders
    .replace(/\r?\n[ \t]+/g, " ")
    .split(/\r?\n/)
    .filter((line) => line.length > 0);
}

/**
 * The value of the topmost Authentication-Results header in a raw header block, if any; with `authservId`,
 * of the topmost header whose authserv-id is that one (compared without case, like the domain it usually is).
 */
export function topAuthenticationResults(rawHeaders: string, authservId = ""): string | undefined {
  const wanted = authservId.trim().toLowerCase();
  for (const line of headerLines(rawHeaders)) {
    const match = /^authentication-results\s*:(.*)$/i.exec(line);
    const value = match?.[1]?.trim();
    if (value === undefined) continue;
    if (!wanted || authservIdOf(value) === wanted) return value;
  }
  return undefined;
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
function domainOf(value: string): string {
  const at = value.lastIndexOf("@");
  return (at >= 0 ? value.slice(at + 1) : value).trim().toLowerCase().replace(/>$/, "");
}

/**
 * Whether the topmost Authentication-Results header of `rawHeaders` (of `authservId`, when set) vouches for
 * `fromAddress`: spf=pass with smtp.mailfrom in the From domain, or dkim=pass with header.d / header.i of it.
 */
export function senderAuthenticated(rawHeaders: string, fromAddress: string, authservId = ""): boolean {
  const value = topAuthenticationResults(rawHeaders, authservId);
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
