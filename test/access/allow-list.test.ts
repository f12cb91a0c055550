// allowFrom fails closed: nobody unless listed, everyone only with "*", and only exact sender ids match.
import { describe, expect, it } from "vitest";
import { listedInAllowFrom, startupWarnings } from "../../src/access/allow-list.js";
import { configSchema } from "../../src/config/schema.js";

const withTelegram = (telegram: Record<string, unknown>) => configSchema.parse({ channels: { telegram } });

describe("allowFrom", () => {
  it("lets nobody in when it is missing or empty", () => {
    expect(listedInAllowFrom(withTelegram({ enabled: true }), "telegram", "123")).toBe(false);
    expect(listedInAllowFrom(withTelegram({ enabled: true, allowFrom: [] }), "telegram", "123")).toBe(false);
  });

  it('lets everyone in with "*"', () => {
    const config = withTelegram({ enabled: true, allowFrom: ["*"] });
    expect(listedInAllowFrom(config, "telegram", "123")).toBe(true);
    expect(listedInAllowFrom(config, "telegram", "987654321")).toBe(true);
  });

  it("matches a Telegram id exactly: no prefix, suffix, whitespace or username", () => {
    const config = withTelegram({ enabled: true, allowFrom: ["123456"] });
    expect(listedInAllowFrom(config, "telegram", "123456")).toBe(true);
    for (const other of ["12345", "1234567", " 123456", "123456 ", "@ann", "123456|ann"]) {
      expect(listedInAllowFrom(config, "telegram", other), other).toBe(false);
    }
  });

  it("matches a username-style entry only by exact id, so a username is never an identity", () => {
    const config = withTelegram({ enabled: true, allowFrom: ["Ann"] });
    expect(listedInAllowFrom(config, "telegram", "ann")).toBe(false);
    expect(listedInAllowFrom(config, "telegram", "Ann")).toBe(true);
  });

  it("matches email addresses case-insensitively, but otherwise exactly", () => {
    const config = configSchema.parse({ channels: { email: { allowFrom: ["Ann@Example.org"] } } });
    expect(listedInAllowFrom(config, "email", "ann@example.org")).toBe(true);
    expect(listedInAllowFrom(config, "email", "ANN@EXAMPLE.ORG")).toBe(true);
    expect(listedInAllowFrom(config, "email", "ann@example.org.evil")).toBe(false);
    expect(listedInAllowFrom(config, "email", "joann@example.org")).toBe(false);
  });
});

describe("startupWarnings", () => {
  it("names each enabled channel that lets nobody in, and each open to everyone", () => {
    const config = configSchema.parse({
      channels: {
        telegram: { enabled: true },
        email: { enabled: true, allowFrom: ["*"] },
        qq: { allowFrom: [] },
      },
    });
    expect(startupWarnings(config)).toEqual([
      "channels.telegram.allowFrom is empty: nobody can talk to medbot on telegram",
      'channels.email.allowFrom is "*": anyone who finds the bot can talk to it',
    ]);
  });

  it("says only approved senders get in when an empty allowFrom uses pairing", () => {
    const config = withTelegram({ enabled: true, dmPolicy: "pairing" });
    expect(startupWarnings(config)).toEqual([
      "channels.telegram.allowFrom is empty: only senders approved with medbot pairing approve can talk to medbot on telegram",
    ]);
  });

  it("is silent for channels with a real allow-list and for disabled channels", () => {
    const config = withTelegram({ enabled: true, allowFrom: ["123"] });
    expect(startupWarnings(config)).toEqual([]);
  });
});
