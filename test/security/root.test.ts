// checkRoot: medbot refuses root's reach unless explicitly allowed, and then warns.
import { describe, expect, it } from "vitest";
import { checkRoot, ROOT_REFUSAL } from "../../src/security/root.js";

describe("checkRoot", () => {
  it("lets an ordinary user run without a warning", () => {
    expect(checkRoot(1000, false, {})).toEqual({ ok: true });
  });

  it("lets a platform without uids run (Windows)", () => {
    expect(checkRoot(undefined, false, {})).toEqual({ ok: true });
  });

  it("refuses root with the explanation and the way out", () => {
    const verdict = checkRoot(0, false, {});
    expect(verdict).toEqual({ ok: false, reason: ROOT_REFUSAL });
    expect(ROOT_REFUSAL).toMatch(/refuses to run as root/);
    expect(ROOT_REFUSAL).toMatch(/--allow-root/);
    expect(ROOT_REFUSAL).toMatch(/MEDBOT_ALLOW_ROOT=1/);
  });

  it("allows root with --allow-root, with a warning", () => {
    const verdict = checkRoot(0, true, {});
    expect(verdict.ok).toBe(true);
    expect(verdict.ok && verdict.warning).toMatch(/warning: running as root/);
  });

  it("allows root with MEDBOT_ALLOW_ROOT=1, with a warning", () => {
    const verdict = checkRoot(0, false, { MEDBOT_ALLOW_ROOT: "1" });
    expect(verdict.ok).toBe(true);
    expect(verdict.ok && verdict.warning).toMatch(/warning/);
  });

  it.each(["0", "", "yes"])("still refuses root with MEDBOT_ALLOW_ROOT=%j", (value) => {
    expect(checkRoot(0, false, { MEDBOT_ALLOW_ROOT: value }).ok).toBe(false);
  });
});
