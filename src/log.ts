// Operational logs (pino): ids, counts and states at info; message text only at debug, which is off
// unless MEDBOT_LOG_LEVEL=debug. The log file is created 0600 before pino opens it and always holds JSON
// lines; a terminal gets the same entries as readable lines (pino-pretty, in this thread, synchronously).
import pino, { type Logger } from "pino";
import pretty from "pino-pretty";
import { touchPrivateFile } from "./storage/private-fs.js";

export type { Logger };

export interface LoggerOptions {
  /** Log file (created 0600, its folder 0700); none logs to stderr only. */
  file?: string;
  /** Defaults to MEDBOT_LOG_LEVEL or "info". */
  level?: string;
  /** Where the console copy goes (default process.stderr): readable lines on a terminal, JSON otherwise. */
  console?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** A logger writing JSON lines to the log file, and to stderr (readable lines when it is a terminal). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.MEDBOT_LOG_LEVEL?.trim() ?? "info";
  const console = options.console ?? process.stderr;
  const streams: pino.StreamEntry[] = [{ level: level as pino.Level, stream: consoleStream(console) }];
  if (options.file) {
    touchPrivateFile(options.file);
    streams.push({
      level: level as pino.Level,
      stream: pino.destination({ dest: options.file, append: true, sync: true }),
    });
  }
  return pino({ level, base: undefined }, pino.multistream(streams));
}

/** A terminal gets "[17:20:42.123] INFO: gateway started {…}"; a pipe or file keeps JSON for tools. */
function consoleStream(console: NodeJS.WritableStream & { isTTY?: boolean }): NodeJS.WritableStream {
  if (!console.isTTY) return console;
  return pretty({
    destination: console,
    sync: true,
    colorize: !process.env.NO_COLOR,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname",
  });
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
