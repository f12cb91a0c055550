// `medbot channels login whatsapp`: link WhatsApp by scanning a QR code; `medbot channels status`: who can
// talk to medbot on each channel and, when a gateway runs, whether each channel is up and how many messages
// it refused (senders not allowed, email whose sender is not proven).
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { Command } from "commander";
import { startupWarnings } from "../access/allow-list.js";
import { approvedSendersIn } from "../access/pairing.js";
import { sendersWithoutPerson, unlinkedSenderWarning } from "../access/unlinked-senders.js";
import {
  BridgeProcess,
  bridgeFolders,
  connectBridge,
  whyBridgeSocketIsHeld,
} from "../channels/whatsapp-bridge-process.js";
import { CHANNEL_NAMES, type ChannelName, type MedbotConfig } from "../config/schema.js";
import type { HealthReport } from "../gateway/health.js";
import { CliFailure, type GlobalOptions, openInstance } from "./startup.js";

/** How long `channels status` waits for a running gateway's /healthz. */
const HEALTH_TIMEOUT_MS = 1500;
/** After WhatsApp opens, baileys still writes session keys; give the bridge a moment before stopping it. */
const SETTLE_AFTER_LINK_MS = 2000;

/** Registers `medbot channels login | status`. */
export function registerChannels(program: Command): void {
  const channels = program.command("channels").description("link chat channels and see who may use them");

  channels
    .command("login")
    .description("link a channel that needs it (whatsapp: scan the QR code with your phone)")
    .argument("<channel>", "whatsapp")
    .option("--relink", "forget the current WhatsApp link first (after WhatsApp logged medbot out)")
    .action(async (channel: string, _options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { relink?: boolean }>();
      if (channel !== "whatsapp") {
        throw new CliFailure(
          `medbot channels login: only whatsapp is linked by login; ${channel} is set up in config.json (channels.${channel})`,
          2,
        );
      }
      await loginWhatsApp(options);
    });

  channels
    .command("status")
    .description("each channel: enabled, who may talk (allowFrom) and, if the gateway runs, its live state")
    .option("--json", "machine-readable output")
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { json?: boolean }>();
      const { config, paths } = openInstance(options);
      const live = await gatewayHealth(config);
      const linked = fs.existsSync(path.join(bridgeFolders(paths.home).authDir, "creds.json"));
      const rows = CHANNEL_NAMES.map((name) => channelStatus(config, name, live, linked));
      const unlinked = sendersWithoutPerson(config, approvedSendersIn(paths.database));
      if (options.json) {
        const report = { gatewayRunning: live !== undefined, channels: rows, sendersWithoutPerson: unlinked };
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      const lines = rows.map((row) => {
        const state = row.live ? `, ${row.live}${row.problem ? `: ${row.problem}` : ""}` : "";
        const refused = row.refused ? `, ${row.refused} refused since start (see the gateway log)` : "";
        const link = row.name === "whatsapp" ? (row.linked ? ", linked" : ", not linked") : "";
        return `${row.name.padEnd(9)} ${row.enabled ? "enabled " : "disabled"}  ${row.allowFrom.summary}${link}${state}${refused}`;
      });
      lines.push(live ? `Gateway: running (${live.status})` : "Gateway: not running");
      process.stdout.write(`${lines.join("\n")}\n`);
      // The same warnings the gateway logs at start (nobody let in, or everyone without acknowledging it).
      for (const warning of startupWarnings(config)) process.stderr.write(`medbot: ${warning}\n`);
      for (const sender of unlinked) process.stderr.write(`medbot: ${unlinkedSenderWarning(sender)}\n`);
      for (const row of rows) {
        if (row.enabled && row.name === "whatsapp" && !row.linked) {
          process.stderr.write("medbot: WhatsApp is not linked yet; run medbot channels login whatsapp\n");
        }
      }
    });
}

interface ChannelRow {
  name: ChannelName;
  enabled: boolean;
  allowFrom: { summary: string; senders: number; everyone: boolean };
  /** WhatsApp only: a linked session exists. */
  linked?: boolean;
  /** The running gateway's transport state of this channel. */
  live?: string;
  /** Messages the running gateway refused on this channel since it started. */
  refused?: number;
  /** Why the running gateway stopped this channel for good (a token problem, another poller). */
  problem?: string;
}

function channelStatus(
  config: MedbotConfig,
  name: ChannelName,
  live: HealthReport | undefined,
  linked: boolean,
): ChannelRow {
  const settings = config.channels[name];
  const everyone = settings.allowFrom.includes("*");
  const senders = settings.allowFrom.filter((entry) => entry !== "*").length;
  const pairing = settings.dmPolicy === "pairing" ? " (+ approved by pairing)" : "";
  const summary = everyone
    ? 'everyone ("*")'
    : senders === 0
      ? `nobody${pairing}`
      : `${senders} sender${senders === 1 ? "" : "s"}${pairing}`;
  return {
    name,
    enabled: settings.enabled,
    allowFrom: { summary, senders, everyone },
    ...(name === "whatsapp" ? { linked } : {}),
    ...(live?.channels[name] ? { live: live.channels[name] } : {}),
    ...(live?.refused?.[name] !== undefined ? { refused: live.refused[name] } : {}),
    ...(live?.problems?.[name] ? { problem: live.problems[name] } : {}),
  };
}

/** The running gateway's /healthz report, or undefined when none answers quickly. */
function gatewayHealth(config: MedbotConfig): Promise<HealthReport | undefined> {
  const host = ["0.0.0.0", "::", ""].includes(config.gateway.host) ? "127.0.0.1" : config.gateway.host;
  return new Promise((resolve) => {
    const request = http.get(
      {
        host: host.replace(/^\[|\]$/g, ""),
        port: config.gateway.port,
        path: "/healthz",
        timeout: HEALTH_TIMEOUT_MS,
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => {
          try {
            const report = JSON.parse(body) as HealthReport;
            resolve(response.statusCode === 200 && report.channels ? report : undefined);
          } catch {
            resolve(undefined);
          }
        });
      },
    );
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(undefined));
  });
}

/** Runs the bridge in the foreground until WhatsApp is linked (open) or the user presses Ctrl-C. */
async function loginWhatsApp(options: GlobalOptions & { relink?: boolean }): Promise<void> {
  const { paths } = openInstance(options);
  const folders = bridgeFolders(paths.home, paths.workspace);
  const held = await whyBridgeSocketIsHeld(folders.socketPath);
  if (held) throw new CliFailure(`medbot channels login whatsapp: ${held}`);
  if (options.relink) fs.rmSync(folders.authDir, { recursive: true, force: true });
  // This bridge talks only to us, for this login: a token of its own, never written anywhere.
  const token = randomBytes(32).toString("hex");
  process.stderr.write(
    "Starting the WhatsApp bridge. On your phone: WhatsApp → Settings → Linked devices → Link a device, then scan the QR code.\n",
  );
  const bridge = BridgeProcess.spawn({ ...folders, token, login: true });
  const interrupted = new Promise<"interrupted">((resolve) => {
    process.once("SIGINT", () => resolve("interrupted"));
    process.once("SIGTERM", () => resolve("interrupted"));
  });
  let outcome: "open" | "logged_out" | "replaced" | "exited" | "interrupted";
  try {
    const linked = new Promise<"open" | "logged_out" | "replaced" | "exited">((resolve, reject) => {
      connectBridge(
        folders.socketPath,
        token,
        {
          onFrame: (frame) => {
            if (frame.type !== "status" && frame.type !== "ready") return;
            if (frame.state === "open" || frame.state === "logged_out" || frame.state === "replaced") {
              resolve(frame.state);
            }
          },
          onBadFrame: () => undefined,
          onClose: () => resolve("exited"),
        },
        {
          retryForMs: 30_000,
          gaveUp: () => (bridge.running ? undefined : `the bridge ${bridge.describeExit()}`),
        },
      ).catch(reject);
      void bridge.exited.then(() => resolve("exited"));
    });
    outcome = await Promise.race([linked, interrupted]);
    if (outcome === "open") await new Promise((resolve) => setTimeout(resolve, SETTLE_AFTER_LINK_MS));
  } catch (error) {
    await bridge.stop();
    throw new CliFailure(`medbot channels login whatsapp: ${(error as Error).message}`);
  }
  await bridge.stop();
  if (outcome === "open") {
    process.stdout.write("WhatsApp is linked. Start medbot gateway to answer on WhatsApp.\n");
    return;
  }
  if (outcome === "logged_out" || outcome === "replaced") {
    throw new CliFailure(
      `WhatsApp refused the saved link (${outcome}); run medbot channels login whatsapp --relink to link again`,
    );
  }
  if (outcome === "interrupted") throw new CliFailure("Stopped; WhatsApp is not linked.", 130);
  throw new CliFailure(`medbot channels login whatsapp: the bridge ${bridge.describeExit()}`);
}
