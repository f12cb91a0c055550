// tools.web.allowHosts: which host names web_fetch may reach, and config entries that could never match
// refused when the config loads, naming the key.
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { isAllowedWebHost } from "../../src/security/web-hosts.js";

describe("isAllowedWebHost", () => {
  it("allows nothing with an empty list", () => {
    expect(isAllowedWebHost([], "example.org")).toBe(false);
  });

  it("matches exact names case-insensitively, ignoring a trailing dot", () => {
    expect(isAllowedWebHost(["Example.org."], "example.ORG")).toBe(true);
    expect(isAllowedWebHost(["example.org"], "www.example.org")).toBe(false);
    expect(isAllowedWebHost(["example.org"], "example.org.evil.test")).toBe(false);
    expect(isAllowedWebHost(["example.org"], "evilexample.org")).toBe(false);
  });

  it("matches subdomains through *.name, but not the name itself or a look-alike", () => {
    expect(isAllowedWebHost(["*.example.org"], "a.b.example.org")).toBe(true);
    expect(isAllowedWebHost(["*.example.org"], "example.org")).toBe(false);
    expect(isAllowedWebHost(["*.example.org"], "badexample.org")).toBe(false);
  });

  it("matches IP literals with or without brackets, and anything with *", () => {
    expect(isAllowedWebHost(["[2001:db8::1]"], "[2001:db8::1]")).toBe(true);
    expect(isAllowedWebHost(["2001:db8::1"], "[2001:db8::1]")).toBe(true);
    expect(isAllowedWebHost(["*"], "anything.test")).toBe(true);
  });
});

describe("tools.web.allowHosts in the config", () => {
  it.each(["example.org", "*.example.org", "*", "203.0.113.9", "[2001:db8::1]"])("accepts %s", (host) => {
    expect(configSchema.safeParse({ tools: { web: { allowHosts: [host] } } }).success).toBe(true);
  });

  it.each([
    "https://example.org",
    "example.org/path",
    "example.org:8080",
    "ex*ample.org",
    "",
    "*.*",
  ])("refuses %j, naming the key and the expected form", (host) => {
    const result = configSchema.safeParse({ tools: { web: { allowHosts: ["ok.test", host] } } });
    expect(result.success).toBe(false);
    const issue = result.error?.issues[0];
    expect(issue?.path).toEqual(["tools", "web", "allowHosts", 1]);
    expect(issue?.message).toMatch(/is not a host name; write it like "example.org"/);
  });
});
