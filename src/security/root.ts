// medbot holds a family's health records; it refuses to run with root's reach unless told to.

/** Why running as root is refused, shown to the user. */
export const ROOT_REFUSAL = [
  "medbot refuses to run as root.",
  "It keeps a family's health records and talks to chat services; as root, any flaw in it or in a",
  "library it uses could read or change everything on this machine.",
  "Run it as an ordinary user; a dedicated account is best for the long-running gateway.",
  "If you really must (a container or CI), pass --allow-root or set MEDBOT_ALLOW_ROOT=1.",
].join("\n");

export type RootCheck = { ok: true; warning?: string } | { ok: false; reason: string };

/** Decides whether this process may run, given its uid and the explicit override. */
export function checkRoot(
  uid: number | undefined,
  allowRoot: boolean,
  env: NodeJS.ProcessEnv = process.env,
): RootCheck {
  if (uid !== 0) return { ok: true };
  if (allowRoot || env.MEDBOT_ALLOW_ROOT === "1") {
    return {
      ok: true,
      warning: "warning: running as root because it was explicitly allowed; use a dedicated user.",
    };
  }
  return { ok: false, reason: ROOT_REFUSAL };
}
