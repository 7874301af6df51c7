// The daemon's logger: the small DaemonLogger interface every daemon module is given (injected everywhere, silent in
// tests), as a thin adapter over the product's one pino logger (shared/log/create-logger.ts). The format
// (ANIMATE_LOG_FORMAT: JSON lines or readable lines, both escaped: shared/log/pretty.ts) and the level
// (ANIMATE_LOG_LEVEL) are the process's; childLogger binds a job's id to each of its lines.
import { createLogger as createPinoLogger, type CreateLoggerOptions, type PinoLogger } from '../shared/log/create-logger.ts';
import { childBindings, lineFields } from '../shared/log/fields.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface DaemonLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose every line carries `bindings` too (e.g. { jobId }); present on loggers made here. */
  child?(bindings: Record<string, unknown>): DaemonLogger;
}

/** The clock behind each line's timestamp; injected so tests can check whole lines. */
export type LogClock = () => Date;

/**
 * The DaemonLogger interface over a pino logger (the process's root or one of its children). pino merges no keys, so
 * a line's field or a child's binding that repeats a key already written (level, msg, scope, a bound jobId) is renamed
 * or dropped (shared/log/fields.ts) rather than written twice in one JSON line.
 */
export function daemonLogger(base: PinoLogger): DaemonLogger {
  const bound = base.bindings();
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string, fields?: Record<string, unknown>) => {
    if (!base.isLevelEnabled(level)) return;
    if (fields) base[level](lineFields(fields, bound), msg);
    else base[level](msg);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (bindings) => daemonLogger(base.child(childBindings(bindings, bound))) };
}

/**
 * A daemon logger of its own (scope 'daemon' unless told), for code that has no process logger to be given: tools,
 * the CLI's in-process daemon. `write` receives each line without its newline (default stderr); `format` defaults to
 * auto (readable on a terminal, JSON otherwise).
 */
export function createLogger(
  level: LogLevel = 'info',
  write?: (line: string) => void,
  scope = 'daemon',
  clock?: LogClock,
  options: Pick<CreateLoggerOptions, 'format' | 'terminal'> = {},
): DaemonLogger {
  return daemonLogger(createPinoLogger({ level, scope, ...(write ? { write } : {}), ...(clock ? { clock } : {}), ...options }));
}

/** `log` with `bindings` on each line: its child when it has one, else the bindings merged into each line's fields. */
export function childLogger(log: DaemonLogger, bindings: Record<string, unknown>): DaemonLogger {
  if (log.child) return log.child(bindings);
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string, fields?: Record<string, unknown>) => log[level](msg, { ...bindings, ...fields });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => childLogger(log, { ...bindings, ...more }) };
}

const noop = () => {};
export const silentLogger: DaemonLogger = { debug: noop, info: noop, warn: noop, error: noop, child: () => silentLogger };
