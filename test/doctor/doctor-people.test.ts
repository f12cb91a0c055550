// Doctor's people check: allowed senders in no people entry are named (they see no member); "*" names nobody,
// and with no people at all every listed sender is named (only the host's terminal acts as owner then).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { checkUnlinkedSenders } from "../../src/doctor/doctor-people.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-doctor-people-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
const database = path.join(scratch, "none", "medbot.db");

const whatOf = (config: unknown) =>
  checkUnlinkedSenders(configSchema.parse(config), { database }).map((f) => f.what.split(" ")[0]);

describe("doctor: allowed senders in no people entry", () => {
  it("names each listed sender whom no person lists, compared as people identities are, and creates no database", () => {
    const config = {
      channels: {
        email: { enabled: true, allowFrom: ["Ann@Example.org", "bob@example.org"] },
        whatsapp: { enabled: true, allowFrom: ["+49 170 1234567"] },
      },
      people: {
        ann: { identities: ["email:ann@example.org"], members: "*" },
        oma: { identities: ["whatsapp:491701234567"], members: ["oma"] },
      },
    };
    expect(whatOf(config)).toEqual(["email:bob@example.org"]);
    expect(fs.existsSync(database)).toBe(false);
  });

  it('names nobody for "*" (it names no sender)', () => {
    expect(whatOf({ channels: { telegram: { enabled: true, token: "1:a", allowFrom: ["*"] } } })).toEqual([]);
  });

  it("with no people at all names every allowed sender: they see no member, as before", () => {
    expect(
      whatOf({ channels: { telegram: { enabled: true, token: "1:a", allowFrom: ["5", "6"] } } }),
    ).toEqual(["telegram:5", "telegram:6"]);
  });
});
