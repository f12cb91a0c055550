// Doctor's email check: authentication off is high; on, but no mail proven yet, is a hint with the fix,
// read from the state file the email adapter keeps; once a mail was proven, nothing to say.
import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { EmailAuthRecorder, emailAuthStateFile } from "../../src/channels/email-auth-state.js";
import { resolvePaths } from "../../src/config/paths.js";
import { configSchema } from "../../src/config/schema.js";
import { checkEmailAuthentication } from "../../src/doctor/doctor-email.js";
import { tempHome } from "../support/medbot-cli.js";

const email = (settings: Record<string, unknown>) =>
  configSchema.parse({
    channels: { email: { enabled: true, allowFrom: ["bob@example.test"], ...settings } },
  });
const ids = (findings: { id: string; severity: string }[]) => findings.map((f) => `${f.id}:${f.severity}`);

describe("doctor: email authentication", () => {
  it("is silent while the email channel is off", () => {
    const paths = resolvePaths({ configPath: `${tempHome()}/config.json` });
    expect(checkEmailAuthentication(configSchema.parse({}), paths)).toEqual([]);
  });

  it("calls requireAuthentication: false high, naming the key", () => {
    const paths = resolvePaths({ configPath: `${tempHome()}/config.json` });
    const findings = checkEmailAuthentication(email({ requireAuthentication: false }), paths);
    expect(ids(findings)).toEqual(["email.auth.off:high"]);
    expect(findings[0]?.fix).toMatch(/requireAuthentication to true/);
  });

  it("hints at the fix until a mail was proven, with the last refusal's reason, then says nothing", () => {
    const home = tempHome();
    const paths = resolvePaths({ configPath: `${home}/config.json` });
    const first = checkEmailAuthentication(email({}), paths);
    expect(ids(first)).toEqual(["email.auth.unverified:info"]);
    expect(first[0]?.fix).toMatch(/DKIM.*DMARC.*authservId/);

    const recorder = new EmailAuthRecorder(emailAuthStateFile(home));
    recorder.unproven("no DKIM signature, and no Authentication-Results header of the configured authservId");
    const refused = checkEmailAuthentication(email({}), paths);
    expect(refused[0]?.what).toMatch(/last mail refused for it .*: no DKIM signature/);
    expect(fs.statSync(emailAuthStateFile(home)).mode & 0o777).toBe(0o600);

    recorder.proven("dkim");
    expect(checkEmailAuthentication(email({}), paths)).toEqual([]);
  });
});
