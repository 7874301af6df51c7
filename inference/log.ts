// A small leveled logger: one line per event, key=value fields, to stderr. Injected everywhere, silent in tests.
// Messages and fields carry request data (prompts, model names, cancel reasons), so both go through
// shared/log-escape.ts: no control character reaches the log raw, and one event stays one line.
import { escapeLogText, formatLogFields } from '../shared/log-escape.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface DaemonLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** The clock behind each line's timestamp; injected so tests can check whole lines. */
export type LogClock = () => Date;

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  scope = 'daemon',
  clock: LogClock = () => new Date(),
): DaemonLogger {
  const at = (l: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[l] < ORDER[level]) return;
    write(`${clock().toISOString()} ${l.toUpperCase().padEnd(5)} [${escapeLogText(scope)}] ${escapeLogText(msg)}${formatLogFields(fields)}`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export const silentLogger: DaemonLogger = createLogger('silent');
