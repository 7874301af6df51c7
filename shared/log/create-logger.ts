// The one logger factory of the product: the daemon, the bot core, the playground and the Discord / Slack adapters
// all log through a pino logger made here, so one process writes one format (ANIMATE_LOG_FORMAT) at one level
// (ANIMATE_LOG_LEVEL). Each wing keeps its small interface (inference/log.ts DaemonLogger, bots/core/logger.ts
// Logger) as a thin adapter over what this returns; child loggers add { scope } and { jobId } to every line.
//
// JSON lines are pino's own ({"level":"info","time":"<ISO>","scope":"daemon","jobId":"…",…,"msg":"…"}): the level is
// written as its name and the time as ISO 8601, which people and log shippers both read without a lookup table.
// The pretty form is shared/log/pretty.ts. Lines are written synchronously (process.stderr is synchronous for files,
// pipes and terminals on Linux), so the line before a process.exit is never lost.
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { z } from 'zod';
import { CodedError } from '../errors.ts';
import { DEFAULT_LOG_FORMAT, DEFAULT_LOG_LEVEL, LOG_FORMATS, LOG_LEVELS, resolveLogFormat, type LogFormat, type LogLevelName } from './format.ts';
import { prettyLine } from './pretty.ts';

export type { PinoLogger };

/** A logger option that is not one of the accepted values: a CodedError naming it and what is allowed. */
export class LogSettingError extends CodedError<'LOG_SETTING_INVALID'> {
  constructor(message: string) {
    super('LOG_SETTING_INVALID', message);
  }
}

/** `silent` writes nothing (tests, tools); the operator's levels are LOG_LEVELS. */
export const LOGGER_LEVELS = [...LOG_LEVELS, 'silent'] as const;
export type LoggerLevel = (typeof LOGGER_LEVELS)[number];

export interface CreateLoggerOptions {
  /** Lowest level written. Default 'info' (ANIMATE_LOG_LEVEL's default). */
  level?: LoggerLevel;
  /** json, pretty, or auto (pretty when `terminal`, else json). Default 'auto' (ANIMATE_LOG_FORMAT's default). */
  format?: LogFormat;
  /** Bound to every line as `scope` (e.g. 'daemon', 'discord'); '' binds none. Default ''. */
  scope?: string;
  /** Receives each line without its newline. Default: written to stderr. */
  write?: (line: string) => void;
  /** Whether the output is a terminal: decides `auto`, and colours the pretty level word. Default process.stderr.isTTY. */
  terminal?: boolean;
  /** The clock of each line's `time`. Default () => new Date(). */
  clock?: () => Date;
}

const DEFAULTS = {
  level: DEFAULT_LOG_LEVEL,
  format: DEFAULT_LOG_FORMAT,
  scope: '',
  write: (line: string) => void process.stderr.write(`${line}\n`),
  terminal: process.stderr.isTTY === true,
  clock: () => new Date(),
} satisfies Required<CreateLoggerOptions>;

// The two options that come from people (settings, flags) are checked here, at the edge, with the allowed values.
const schema = z.object({
  level: z.enum(LOGGER_LEVELS, { error: `level must be one of ${LOGGER_LEVELS.join(', ')}` }).optional(),
  format: z.enum(LOG_FORMATS, { error: `format must be one of ${LOG_FORMATS.join(', ')}` }).optional(),
  scope: z.string({ error: 'scope must be text' }).optional(),
});

/** The destination pino writes to: each JSON line as is, or turned into its pretty line. */
function destination(format: 'json' | 'pretty', write: (line: string) => void, colours: boolean): DestinationStream {
  if (format === 'json') return { write: (chunk: string) => write(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk) };
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) {
        if (line === '') continue;
        let record: Record<string, unknown>;
        try {
          record = JSON.parse(line) as Record<string, unknown>;
        } catch {
          // pino writes only JSON here; should anything else arrive, it is still escaped and kept on its line.
          record = { level: 'warn', msg: line };
        }
        write(prettyLine(record, { colours }));
      }
    },
  };
}

/** A pino logger writing `format` at `level`; throws LogSettingError for a level or format not accepted. */
export function createLogger(options: CreateLoggerOptions = {}): PinoLogger {
  const checked = schema.safeParse({ level: options.level, format: options.format, scope: options.scope });
  if (!checked.success) throw new LogSettingError(`logger: ${checked.error.issues.map((i) => i.message).join('; ')}`);
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<CreateLoggerOptions>;
  const format = resolveLogFormat(o.format, o.terminal);
  return pino(
    {
      level: o.level,
      base: o.scope ? { scope: o.scope } : null,
      timestamp: () => `,"time":"${o.clock().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      // Errors under `err` (pino's default) or `error` keep their type, message, stack, code and cause in JSON.
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    destination(format, o.write, format === 'pretty' && o.terminal),
  );
}

/** The level and format settings of one process (ANIMATE_LOG_LEVEL, ANIMATE_LOG_FORMAT) as logger options. */
export interface LogSettings {
  logLevel: LogLevelName;
  logFormat: LogFormat;
}

/** The process's root logger from its settings: what app/start.ts, the daemon CLI and the standalone bots make once. */
export function loggerFromSettings(settings: LogSettings, extra: Omit<CreateLoggerOptions, 'level' | 'format'> = {}): PinoLogger {
  return createLogger({ ...extra, level: settings.logLevel, format: settings.logFormat });
}
