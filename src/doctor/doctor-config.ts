// Doctor's config checks: who may talk on each channel, what listens beyond loopback, which risky tools are on.
import { CHANNEL_NAMES, type MedbotConfig } from "../config/schema.js";
import type { Finding } from "./doctor.js";
import { checkExec } from "./doctor-exec.js";

/** The bridge token onboard generates is 32 bytes of hex; shorter ones are guessable or hand-typed. */
export const MIN_BRIDGE_TOKEN_CHARS = 32;

/** root: medbot running as root (high), or as root on purpose (medium, still reported). */
export function checkRootUser(uid: number | undefined, acknowledged: boolean): Finding[] {
  if (uid !== 0) return [];
  return [
    {
      id: "root",
      severity: acknowledged ? "medium" : "high",
      what: acknowledged
        ? "medbot runs as root (allowed by --allow-root or MEDBOT_ALLOW_ROOT=1)."
        : "medbot runs as root.",
      why: "As root, a flaw in medbot or in any library it uses could read or change everything on this machine, not only the health archive.",
      fix: "Run medbot as an ordinary user; for the gateway, a dedicated account (medbot service install --system --as USER).",
      fixable: false,
    },
  ];
}

/** channels.allowFrom and channels.open: every enabled channel names who may talk, and "*" only on purpose. */
export function checkChannels(config: MedbotConfig): Finding[] {
  const findings: Finding[] = [];
  for (const channel of CHANNEL_NAMES) {
    const settings = config.channels[channel];
    if (!settings.enabled) continue;
    const key = `channels.${channel}`;
    if (settings.allowFrom.includes("*")) {
      findings.push(
        settings.openToEveryone
          ? {
              id: "channels.open",
              severity: "low",
              what: `${key}.allowFrom is "*" and ${key}.openToEveryone acknowledges it.`,
              why: `Anyone who finds the bot on ${channel} can talk to it; only people mapped in "people" see any member's records.`,
              fix: `List the sender ids in ${key}.allowFrom instead of "*" if the bot is meant for the household only.`,
              fixable: false,
            }
          : {
              id: "channels.open",
              severity: "high",
              what: `${key}.allowFrom is "*" without ${key}.openToEveryone.`,
              why: `Anyone who finds the bot on ${channel} can talk to it and use your model provider; "*" is easy to leave in by mistake.`,
              fix: `List the sender ids in ${key}.allowFrom, or set ${key}.openToEveryone to true if you mean it.`,
              fixable: false,
            },
      );
    } else if (settings.allowFrom.length === 0 && settings.dmPolicy !== "pairing") {
      findings.push({
        id: "channels.allowFrom",
        severity: "medium",
        what: `${key} is enabled but ${key}.allowFrom is empty.`,
        why: `medbot fails closed: nobody can talk to it on ${channel}. Not a hole, but the channel does nothing.`,
        fix: `Add the sender ids to ${key}.allowFrom, set ${key}.dmPolicy to "pairing", or disable the channel.`,
        fixable: false,
      });
    }
    if (settings.dmPolicy === "pairing") {
      findings.push({
        id: "channels.allowFrom",
        severity: "info",
        what: `${key}.dmPolicy is "pairing".`,
        why: "An unknown sender gets a one-time code and nothing else; they get in only after medbot pairing approve.",
        fix: "Approve only codes from people you know; switch to an explicit allowFrom when the household is set up.",
        fixable: false,
      });
    }
  }
  return findings;
}

/** gateway.loopback: the health endpoint listens on loopback unless explicitly allowed (then reported). */
export function checkGateway(config: MedbotConfig): Finding[] {
  const { host, allowNonLoopback } = config.gateway;
  if (isLoopbackHost(host)) return [];
  return [
    {
      id: "gateway.loopback",
      severity: allowNonLoopback ? "medium" : "high",
      what: `gateway.host is ${host}${allowNonLoopback ? " (allowed by gateway.allowNonLoopback)" : ""}, not loopback.`,
      why: "The gateway's endpoint is then reachable from other machines on the network, which need not know it exists.",
      fix: 'Set gateway.host to "127.0.0.1"; put a reverse proxy with authentication in front if it must be reached remotely.',
      fixable: false,
    },
  ];
}

/** bridge.token and bridge.url: the WhatsApp bridge requires a long token; a leftover bridgeUrl is ignored. */
export function checkBridge(config: MedbotConfig): Finding[] {
  const whatsapp = config.channels.whatsapp;
  if (!whatsapp.enabled) return [];
  const findings: Finding[] = [];
  if (whatsapp.bridgeUrl !== undefined) {
    findings.push({
      id: "bridge.url",
      severity: "info",
      what: `channels.whatsapp.bridgeUrl (${whatsapp.bridgeUrl}) is ignored.`,
      why: "The gateway and the bridge meet on a Unix socket in a private folder of the data folder (run/whatsapp/bridge.sock), never on a TCP port another process could take first.",
      fix: "Remove channels.whatsapp.bridgeUrl from config.json.",
      fixable: false,
    });
  }
  if (whatsapp.bridgeToken.length < MIN_BRIDGE_TOKEN_CHARS) {
    findings.push({
      id: "bridge.token",
      severity: "high",
      what:
        whatsapp.bridgeToken === ""
          ? "channels.whatsapp.bridgeToken is empty."
          : `channels.whatsapp.bridgeToken has ${whatsapp.bridgeToken.length} characters (fewer than ${MIN_BRIDGE_TOKEN_CHARS}).`,
      why: "The token is the bridge's second lock after its private socket folder: a short one is guessed by whoever reaches the socket (another process of your user, or anyone if the folder's modes are loosened).",
      fix: `Put a random token of at least ${MIN_BRIDGE_TOKEN_CHARS} characters in channels.whatsapp.bridgeToken (openssl rand -hex 32); medbot onboard generates one.`,
      fixable: false,
    });
  }
  return findings;
}

/** tools.exec, tools.web, tools.restrictToWorkspace: tools that reach beyond the archive are reported when on. */
export function checkTools(config: MedbotConfig): Finding[] {
  const { exec, web, restrictToWorkspace } = config.tools;
  const findings: Finding[] = [];
  findings.push(...checkExec(exec));
  if (web.enabled) findings.push(...webFetchFindings(web.allowHosts));
  if (!restrictToWorkspace) {
    findings.push({
      id: "tools.restrictToWorkspace",
      severity: "medium",
      what: "tools.restrictToWorkspace is false.",
      why: "File tools can then read and write anywhere this user can, including other people's files and medbot's config.",
      fix: "Set tools.restrictToWorkspace to true.",
      fixable: false,
    });
  }
  return findings;
}

/** tools.web (when on): the hosts web_fetch may reach listed, and "*" in tools.web.allowHosts flagged high. */
function webFetchFindings(allowHosts: readonly string[]): Finding[] {
  const hosts = allowHosts.length === 0 ? "no host yet: every fetch is refused" : allowHosts.join(", ");
  const findings: Finding[] = [
    {
      id: "tools.web",
      severity: "medium",
      what: `tools.web is enabled (web_fetch of public http(s) addresses); tools.web.allowHosts: ${hosts}.`,
      why: "Fetched pages are untrusted text that may carry instructions, and a fetch URL can carry data out (every URL is in the audit log).",
      fix: "Set tools.web.enabled to false unless the household needs web lookups; keep tools.web.allowHosts to the sites it needs.",
      fixable: false,
    },
  ];
  if (allowHosts.includes("*")) {
    findings.push({
      id: "tools.web.allowHosts",
      severity: "high",
      what: 'tools.web.allowHosts contains "*": web_fetch may reach any public host.',
      why: "A model misled by an injected message can put record text into a URL to a host of the attacker's choosing.",
      fix: 'Replace "*" in tools.web.allowHosts with the host names the household needs (e.g. "medlineplus.gov", "*.nhs.uk").',
      fixable: false,
    });
  }
  return findings;
}

/** True for localhost, 127.0.0.0/8, ::1 and ::ffff:127.x (bracketed or not). */
export function isLoopbackHost(host: string): boolean {
  const bare = host
    .trim()
    .replace(/^\[(.*)\]$/, "$1")
    .toLowerCase();
  if (bare === "localhost" || bare === "::1" || bare === "0:0:0:0:0:0:0:1") return true;
  const v4 = bare.replace(/^::ffff:/, "");
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
