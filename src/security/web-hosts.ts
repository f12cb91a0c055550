// Which hosts web_fetch may reach: the household's tools.web.allowHosts, checked for the first request and for
// every redirect hop before any lookup or connection. Exact names, "*.example.org" for its subdomains, "*" any.

/** A host name as compared: lower case, without a trailing dot or IPv6 brackets. */
function normalHost(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
}

/** True when tools.web.allowHosts lets web_fetch reach `hostname` (a URL's hostname, without port). */
export function isAllowedWebHost(allowHosts: readonly string[], hostname: string): boolean {
  const host = normalHost(hostname);
  return allowHosts.some((entry) => {
    if (entry === "*") return true;
    const wanted = normalHost(entry);
    if (wanted.startsWith("*.")) return host.endsWith(wanted.slice(1)) && host.length > wanted.length - 1;
    return host === wanted;
  });
}

/** Why an allowHosts entry can never match a URL's host (a scheme, path, port, or a wildcard mid-name); else undefined. */
export function allowHostProblem(entry: string): string | undefined {
  if (entry === "*") return undefined;
  const bare = entry.trim().replace(/^\*\./, "");
  if (/^\[[0-9a-f:.]+\]$/i.test(bare) || /^[0-9a-f]*:[0-9a-f:.]+$/i.test(bare)) return undefined;
  if (
    /^(?=.{1,253}\.?$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i.test(
      bare,
    )
  )
    return undefined;
  return `"${entry}" is not a host name; write it like "example.org", "*.example.org" (its subdomains) or "*" (any host), without scheme, port or path`;
}
