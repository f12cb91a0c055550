// The one config schema: every key, its default and its doc. Strict: an unknown key is an error.
import { z } from "zod";
import { unitPreferenceProblem } from "../measures/kinds.js";
import { allowHostProblem } from "../security/web-hosts.js";
import { isTimeZone } from "../time/dates.js";

/** The chat platforms medbot speaks on; each has an adapter in src/channels/ and a key under `channels`. */
export const CHANNEL_NAMES = ["telegram", "whatsapp", "email", "feishu", "qq"] as const;
export type ChannelName = (typeof CHANNEL_NAMES)[number];

const httpUrl = z
  .string()
  .refine((value) => /^https?:\/\/[^\s]+$/i.test(value), { message: "must be an http(s) URL" });

/** MedBot writes "" or null for unset URLs; both mean "use the provider's default". */
const optionalUrl = z.union([z.literal(""), z.null(), httpUrl]).optional();

const senderList = z
  .array(z.string().min(1, "an empty sender id matches nobody; remove it"))
  .default([])
  .describe('Sender ids allowed in. Empty means nobody; ["*"] means everyone (not recommended).');

const providerSchema = z.strictObject({
  apiKey: z.string().default("").describe("API key; MEDBOT_PROVIDERS__<NAME>__API_KEY overrides it."),
  apiBase: optionalUrl.describe("OpenAI-compatible base URL; empty uses the provider's default."),
  extraHeaders: z
    .record(z.string(), z.string())
    .nullable()
    .optional()
    .describe("Extra HTTP headers sent on every request."),
});

const agentDefaultsSchema = z.strictObject({
  workspace: z.string().optional().describe("Workspace folder; default <data dir>/workspace."),
  model: z.string().default("").describe("Model name as the provider spells it."),
  provider: z
    .string()
    .default("auto")
    .describe('Provider name from "providers", or "auto": the one configured with a key.'),
  maxTokens: z.number().int().min(1).max(1_000_000).default(4096).describe("Max tokens in one reply."),
  temperature: z.number().min(0).max(2).default(0.2).describe("Sampling temperature."),
  maxToolIterations: z.number().int().min(1).max(500).default(40).describe("Max tool rounds per message."),
  contextWindowTokens: z
    .number()
    .int()
    .min(4096)
    .default(65_536)
    .describe("Token budget of one request; older turns are summarised into memory beyond it."),
});

/** A chat as `channel:chatId` (a Telegram chat id, an email address, a WhatsApp JID...). */
const chatTarget = z
  .string()
  .regex(/^(telegram|whatsapp|email|feishu|qq):.+$/, "a chat as channel:chatId, like telegram:123456");

/** A clock time, 24-hour HH:MM. */
const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "a time as HH:MM, 24-hour");

const channelBase = {
  enabled: z.boolean().default(false),
  allowFrom: senderList,
  openToEveryone: z
    .boolean()
    .default(false)
    .describe(
      'Acknowledges allowFrom ["*"] (anyone who finds the bot may talk to it); doctor flags "*" without it.',
    ),
  dmPolicy: z
    .enum(["allowlist", "pairing"])
    .default("allowlist")
    .describe('"pairing": an unknown sender gets a one-time code for the owner to approve (medbot pairing).'),
  maxInboundChars: z
    .number()
    .int()
    .min(100)
    .max(1_000_000)
    .optional()
    .describe("Longest inbound message (characters) on this channel; default gateway.maxInboundChars."),
};

const channelsSchema = z
  .strictObject({
    telegram: z
      .strictObject({
        ...channelBase,
        token: z.string().default("").describe("Bot token from @BotFather."),
        proxy: z.string().nullable().optional().describe("HTTP(S) proxy URL."),
        apiRoot: optionalUrl.describe("Bot API root; default https://api.telegram.org."),
        groups: z.array(z.string()).default([]).describe("Group chat ids the bot may answer in."),
      })
      .prefault({}),
    whatsapp: z
      .strictObject({
        ...channelBase,
        bridgeUrl: z
          .string()
          .optional()
          .describe(
            "Ignored (kept so MedBot configs load): the gateway reaches the bridge on the Unix socket run/whatsapp/bridge.sock in the data folder.",
          ),
        bridgeToken: z
          .string()
          .default("")
          .describe("Shared token the bridge requires; medbot onboard generates it."),
        groups: z.array(z.string()).default([]).describe("Group JIDs (...@g.us) the bot may answer in."),
      })
      .prefault({}),
    email: z
      .strictObject({
        ...channelBase,
        consentGranted: z.boolean().default(false).describe("Must be true before medbot reads the mailbox."),
        imapHost: z.string().default(""),
        imapPort: z.number().int().min(1).max(65535).default(993),
        imapUsername: z.string().default(""),
        imapPassword: z.string().default(""),
        imapMailbox: z.string().default("INBOX"),
        imapUseSsl: z.boolean().default(true),
        smtpHost: z.string().default(""),
        smtpPort: z.number().int().min(1).max(65535).default(587),
        smtpUsername: z.string().default(""),
        smtpPassword: z.string().default(""),
        smtpUseTls: z.boolean().default(true),
        smtpUseSsl: z.boolean().default(false),
        fromAddress: z.string().default(""),
        autoReplyEnabled: z.boolean().default(true),
        pollIntervalSeconds: z.number().int().min(5).default(30),
        markSeen: z.boolean().default(true),
        maxBodyChars: z.number().int().min(100).default(12_000),
        subjectPrefix: z.string().default("Re: "),
        requireAuthentication: z
          .boolean()
          .default(true)
          .describe(
            "Mail is delivered only when its From domain is proven: a DKIM signature of that domain (or DMARC) checked by medbot, or a pass in the Authentication-Results of authservId.",
          ),
        authservId: z
          .string()
          .default("")
          .describe(
            "authserv-id of your mail server (e.g. mx.example.org): its Authentication-Results count when above its Received header. Empty: no Authentication-Results header counts.",
          ),
        tlsRejectUnauthorized: z
          .boolean()
          .default(true)
          .describe("Refuse IMAP/SMTP servers whose TLS certificate does not verify."),
        tlsCa: z
          .string()
          .default("")
          .describe("Path of a PEM CA to trust for IMAP/SMTP (a self-signed server)."),
      })
      .prefault({}),
    feishu: z
      .strictObject({
        ...channelBase,
        appId: z
          .string()
          .default("")
          .describe('App id from the Feishu/Lark console ("cli_" + 16 hex digits).'),
        appSecret: z.string().default(""),
        encryptKey: z.string().default(""),
        verificationToken: z.string().default(""),
        domain: httpUrl
          .default("https://open.feishu.cn")
          .describe(
            "Open platform base URL: https://open.feishu.cn, or https://open.larksuite.com for Lark.",
          ),
        groups: z.array(z.string()).default([]).describe("Group chat ids (oc_...) the bot may answer in."),
      })
      .prefault({}),
    qq: z
      .strictObject({
        ...channelBase,
        appId: z.string().default(""),
        secret: z.string().default(""),
        apiBase: httpUrl.default("https://api.sgroup.qq.com").describe("QQ bot OpenAPI base URL."),
        tokenUrl: httpUrl
          .default("https://bots.qq.com/app/getAppAccessToken")
          .describe("Where the access token is requested."),
        mode: z
          .enum(["websocket", "webhook"])
          .default("websocket")
          .describe('"websocket": events over the QQ gateway; "webhook": QQ posts signed events to us.'),
        webhookHost: z.string().default("127.0.0.1").describe("Address the webhook listens on."),
        webhookPort: z.number().int().min(1).max(65535).default(18791),
        webhookPath: z.string().default("/qq/callback"),
        groups: z.array(z.string()).default([]).describe("Group openids the bot may answer in."),
      })
      .prefault({}),
  })
  // MedBot's config lists channels medbot does not have; accepted only while switched off.
  .catchall(
    z.looseObject({
      enabled: z.literal(false, { error: "medbot has no such channel; remove it or set enabled to false" }),
    }),
  );

const toolsSchema = z.strictObject({
  restrictToWorkspace: z
    .boolean()
    .default(true)
    .describe("File tools stay inside the workspace (symlinks resolved)."),
  exec: z
    .strictObject({
      enabled: z
        .boolean()
        .default(false)
        .describe(
          "Shell tool for owners, run in a bubblewrap sandbox (needs bwrap); off by default (reported by doctor).",
        ),
      timeout: z.number().int().min(1).max(3600).default(60).describe("Seconds per command."),
      maxOutputChars: z
        .number()
        .int()
        .min(100)
        .max(200_000)
        .default(10_000)
        .describe("Output kept per command; the rest is cut."),
      deny: z
        .array(z.string().min(1))
        .default([])
        .describe("Extra regular expressions of commands to refuse, on top of the built-in deny-list."),
      network: z
        .boolean()
        .default(false)
        .describe("Give exec's sandbox the network; off by default (reported by doctor)."),
    })
    .prefault({}),
  web: z
    .strictObject({
      enabled: z
        .boolean()
        .default(false)
        .describe("web_fetch: http(s) pages, public addresses only; off by default (reported by doctor)."),
      allowHosts: z
        .array(
          z
            .string()
            .min(1, '"" is not a host name; write it like "example.org", "*.example.org" or "*"')
            .superRefine((entry, check) => {
              const problem = allowHostProblem(entry);
              if (problem) check.addIssue({ code: "custom", message: problem });
            }),
        )
        .default([])
        .describe(
          'Hosts web_fetch may reach (exact names; "*.example.org" for subdomains); none by default, "*" any (flagged by doctor).',
        ),
      maxBytes: z.number().int().min(1024).max(10_000_000).default(1_000_000).describe("Largest page read."),
      timeoutS: z.number().int().min(1).max(120).default(20).describe("Seconds per fetch."),
      search: z
        .strictObject({
          apiKey: z.string().default(""),
          maxResults: z.number().int().min(1).max(20).default(5),
        })
        .prefault({}),
    })
    .prefault({}),
  drugInteractions: z
    .strictObject({
      enabled: z.boolean().default(true).describe("drug_interaction_check asks DDInter online (names only)."),
      baseUrl: httpUrl
        .default("https://ddinter.scbdd.com")
        .describe("DDInter address; https (plain http only for a test server on 127.0.0.1)."),
      timeoutS: z.number().int().min(1).max(120).default(15).describe("Seconds per DDInter request."),
      cacheDays: z
        .number()
        .int()
        .min(0)
        .max(365)
        .default(30)
        .describe("Days a DDInter answer is reused from the database; 0 always asks again."),
    })
    .prefault({}),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional().describe("Path of config.schema.json, for editors."),
  providers: z
    .record(
      z.string().regex(/^[A-Za-z][\w-]*$/, "a provider name is a letter, then letters, digits, _ or -"),
      providerSchema,
    )
    .default({}),
  agents: z.strictObject({ defaults: agentDefaultsSchema.prefault({}) }).prefault({}),
  channels: channelsSchema.prefault({}),
  tools: toolsSchema.prefault({}),
  gateway: z
    .strictObject({
      host: z.string().default("127.0.0.1").describe("Health endpoint address; loopback by default."),
      port: z.number().int().min(1).max(65535).default(18790),
      allowNonLoopback: z
        .boolean()
        .default(false)
        .describe("Allow a host other than loopback for the health endpoint (reported by doctor)."),
      maxParallelSessions: z
        .number()
        .int()
        .min(1)
        .max(64)
        .default(4)
        .describe("Chats answered at the same time."),
      shutdownDeadlineS: z
        .number()
        .int()
        .min(1)
        .max(600)
        .default(20)
        .describe("On stop, how long running turns may finish; the rest resume at the next start."),
      maxInboundChars: z
        .number()
        .int()
        .min(100)
        .max(1_000_000)
        .default(16_000)
        .describe(
          "Longest inbound message (characters) on any channel; a longer one gets a short reply and is not sent to the model.",
        ),
      turnDeadlineS: z
        .number()
        .int()
        .min(10)
        .max(3600)
        .default(600)
        .describe(
          "How long one turn may run before it is cancelled; a message whose turn crashed medbot or ran past this twice is set aside.",
        ),
    })
    .prefault({}),
  people: z
    .record(
      z.string().regex(/^[A-Za-z0-9][\w.-]*$/, "a person's name: letters, digits, dot, dash, underscore"),
      z.strictObject({
        identities: z
          .array(
            z
              .string()
              .regex(
                /^(telegram|whatsapp|email|feishu|qq):.+$/,
                "like telegram:123456 or email:ann@example.org",
              ),
          )
          .min(1)
          .describe("Sender identities of this person, channel:id."),
        members: z
          .union([z.literal("*"), z.array(z.string().min(1))])
          .describe('Member ids this person may see and change; "*" for owners.'),
        timezone: z
          .string()
          .refine(isTimeZone, "must be an IANA timezone such as Europe/Berlin")
          .optional()
          .describe("IANA timezone of this person's reminders and schedules; default the host's."),
      }),
    )
    .default({})
    .describe("Who is who: a sender maps to a person, a person to the members they are granted."),
  contacts: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        channel: z.enum(CHANNEL_NAMES),
        address: z.string().min(1).describe("Chat id or email address."),
      }),
    )
    .default([])
    .describe("Clinicians and others archive content may be sent to, after a granted person confirms."),
  privacy: z
    .strictObject({
      redactIdentifiers: z
        .boolean()
        .default(true)
        .describe(
          "Mask phone numbers, email addresses, ID and insurance numbers in what is sent to the model provider.",
        ),
    })
    .prefault({}),
  audit: z
    .strictObject({
      signHead: z
        .boolean()
        .default(false)
        .describe(
          "Sign the audit head file with an Ed25519 key kept in the data folder (audit-signing.key, created on first need); verify and doctor then report an unsigned or wrongly signed head as tampering.",
        ),
    })
    .prefault({}),
  archive: z
    .strictObject({
      units: z
        .record(z.string(), z.string())
        .default({})
        .superRefine((units, ctx) => {
          for (const [kind, unit] of Object.entries(units)) {
            const problem = unitPreferenceProblem(kind, unit);
            if (problem) ctx.addIssue({ code: "custom", message: problem, path: [kind] });
          }
        })
        .describe(
          'Units readings are shown and exported in, per kind (e.g. {"glucose": "mg/dL", "weight": "lb", "temperature": "F"}); a member\'s own preference (medbot metrics units) wins. Stored values stay canonical.',
        ),
    })
    .prefault({}),
  reminders: z
    .strictObject({
      graceMinutes: z
        .number()
        .int()
        .min(1)
        .max(1440)
        .default(60)
        .describe(
          "A reminder missed (medbot was down) by less than this is sent once, late; older ones are only recorded.",
        ),
      deliverTo: z
        .record(z.string().min(1), z.array(chatTarget).min(1))
        .default({})
        .describe(
          "Member id → chats (channel:chatId) that get that member's medication reminders; each chat must belong to a person granted that member.",
        ),
    })
    .prefault({}),
  heartbeat: z
    .strictObject({
      enabled: z.boolean().default(false),
      intervalS: z.number().int().min(60).default(1800).describe("Seconds between heartbeat runs."),
      target: chatTarget
        .optional()
        .describe("The one chat (channel:chatId) heartbeat findings go to; required when enabled."),
      maxIterations: z.number().int().min(1).max(50).default(8).describe("Tool rounds per heartbeat run."),
      quietHours: z
        .strictObject({ start: clockTime, end: clockTime })
        .nullable()
        .default({ start: "22:00", end: "07:00" })
        .describe("Nothing is sent between these times (target person's timezone); null: no quiet hours."),
      riskScan: z
        .strictObject({
          enabled: z.boolean().default(false),
          at: clockTime.default("08:00").describe("Daily time of the household risk scan."),
        })
        .prefault({})
        .describe("The daily household risk scan (risk-monitoring skill)."),
    })
    .prefault({})
    .refine((heartbeat) => !heartbeat.enabled || heartbeat.target !== undefined, {
      message: "heartbeat.target is required when the heartbeat is enabled (e.g. telegram:123456)",
      path: ["target"],
    }),
});

export type MedbotConfig = z.infer<typeof configSchema>;
export type ProviderConfig = z.infer<typeof providerSchema>;

/** The config schema as JSON Schema, for editors completing config.json. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}
