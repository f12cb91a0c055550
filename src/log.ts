// Operational logs (pino): ids, counts and states at info; message text only at debug, which is off
// unless MEDBOT_LOG_LEVEL=debug. The log file is created 0600 before pino opens it.
import pino, { type Logger } from "pino";
import { touchPrivateFile } from "./storage/private-fs.js";

export type { Logger };

export interface LoggerOptions {
  /** Log file (created 0600, its folder 0700); none logs to stderr only. */
  file?: string;
  /** Defaults to MEDBOT_LOG_LEVEL or "info". */
  level?: string;
}

/** A logger writing JSON lines to the log file and to stderr. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.MEDBOT_LOG_LEVEL?.trim() ?? "info";
  const streams: pino.StreamEntry[] = [{ level: level as pino.Level, stream: process.stderr }];
  if (options.file) {
    touchPrivateFile(options.file);
    streams.push({
      level: level as pino.Level,
      stream: pino.destination({ dest: options.file, append: true, sync: true }),
    });
  }
  return pino({ level, base: undefined }, pino.multistream(streams));
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
