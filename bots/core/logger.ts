// The bots' logger dependency: the small Logger interface the core and the adapters are given (adapters may pass
// their own), as a thin adapter over the product's one pino logger (shared/log/create-logger.ts): one format
// (ANIMATE_LOG_FORMAT) and one level (ANIMATE_LOG_LEVEL) for the whole process. Messages and details carry chat text
// and platform errors; JSON escapes them by construction and the readable form through shared/log-escape.ts, so a
// "\n" or an ESC sequence from a user can neither forge a log line nor colour the terminal. withFields binds a job's
// id to each of its lines; Bolt's and discord.js's logs come through bots/slack/bolt-logger.ts and
// bots/discord/client-events.ts.
import { createLogger, type PinoLogger } from '../../shared/log/create-logger.ts';
import type { LogLevelName } from '../../shared/log/format.ts';
import { lineFields } from '../../shared/log/fields.ts';

export interface Logger {
  debug(message: string, detail?: unknown): void;
  info(message: string, detail?: unknown): void;
  warn(message: string, detail?: unknown): void;
  error(message: string, detail?: unknown): void;
}

/** A Logger made here: it has a pino logger underneath, children, and a level others (Bolt, discord.js) can follow. */
export interface StructuredLogger extends Logger {
  readonly pino: PinoLogger;
  child(fields: Record<string, unknown>): StructuredLogger;
}

export function isStructuredLogger(logger: Logger): logger is StructuredLogger {
  return typeof (logger as Partial<StructuredLogger>).child === 'function' && (logger as Partial<StructuredLogger>).pino !== undefined;
}

/**
 * The detail as pino's merging object: an Error under `err` (stack, code, cause kept), an object's fields (a field
 * named like one pino writes or one already bound kept as `<name>_`: shared/log/fields.ts), else `detail`.
 */
function mergingObject(detail: unknown, base: PinoLogger): Record<string, unknown> | undefined {
  if (detail === undefined) return undefined;
  if (detail instanceof Error) return { err: detail };
  if (detail !== null && typeof detail === 'object' && !Array.isArray(detail)) return lineFields(detail as Record<string, unknown>, base.bindings());
  return { detail };
}

/** The Logger interface over a pino logger (the process's root, or a child with { scope } / { jobId }). */
export function botLogger(base: PinoLogger): StructuredLogger {
  const at = (level: LogLevelName) => (message: string, detail?: unknown) => {
    if (!base.isLevelEnabled(level)) return;
    const fields = mergingObject(detail, base);
    if (fields) base[level](fields, message);
    else base[level](message);
  };
  return { pino: base, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (fields) => botLogger(base.child(fields)) };
}

/**
 * A logger of its own, for code given none (a plugin in someone else's bot, a test): scope from the prefix
 * ('[discord]' → discord), format auto (readable on a terminal, JSON otherwise), info level, or debug when `debug`.
 * `write` receives each line without its newline (default stderr).
 */
export function consoleLogger(prefix = '[bot]', write?: (line: string) => void, debug = false): StructuredLogger {
  return botLogger(createLogger({ scope: prefix.replace(/^\[|\]$/g, ''), level: debug ? 'debug' : 'info', ...(write ? { write } : {}) }));
}

/**
 * `logger` with `fields` on every line (e.g. { jobId }): its child when it is a StructuredLogger. Another Logger (one
 * an embedding bot passed, a test's recorder) is returned as it is, so what it receives does not change shape; the
 * messages name their job anyway.
 */
export function withFields(logger: Logger, fields: Record<string, unknown>): Logger {
  return isStructuredLogger(logger) ? logger.child(fields) : logger;
}

/** The level `logger` writes from: its pino level when it has one, 'silent' for silentLogger, else 'info'. */
export function levelOf(logger: Logger): LogLevelName | 'silent' {
  if (logger === silentLogger) return 'silent';
  if (isStructuredLogger(logger)) {
    const level = logger.pino.level;
    const known = (['debug', 'info', 'warn', 'error', 'silent'] as const).find((l) => l === level);
    return known ?? (level === 'trace' ? 'debug' : level === 'fatal' ? 'error' : 'info');
  }
  return 'info';
}

export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
