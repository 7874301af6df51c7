// The words of the logging settings, once: the levels ANIMATE_LOG_LEVEL accepts and the formats ANIMATE_LOG_FORMAT
// accepts, read by shared/config/variables.ts (validation, --help) and by create-logger.ts (what to build).
//
// Formats: `json` writes one JSON object per line (for a log shipper: level, time, msg, then the event's fields);
// `pretty` writes one readable line per event (shared/log/pretty.ts); `auto`, the default, is pretty when the stream
// is a terminal (a person is reading) and JSON otherwise (a file, a pipe, a container's log collector: a program is
// reading). The choice is made once per process, when the logger is made.

/** The levels an operator chooses from, most verbose first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** ANIMATE_LOG_FORMAT's values. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** ANIMATE_LOG_FORMAT's default. */
export const DEFAULT_LOG_FORMAT: LogFormat = 'auto';
/** ANIMATE_LOG_LEVEL's default. */
export const DEFAULT_LOG_LEVEL: LogLevelName = 'info';

/** What `auto` becomes: pretty on a terminal, JSON for anything else. */
export function resolveLogFormat(format: LogFormat, isTerminal: boolean): 'json' | 'pretty' {
  if (format === 'auto') return isTerminal ? 'pretty' : 'json';
  return format;
}
