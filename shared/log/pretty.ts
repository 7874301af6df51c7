// The readable form of a log event (ANIMATE_LOG_FORMAT=pretty, or auto on a terminal): one line per event,
//   2026-01-02T03:04:05.678Z INFO  [daemon] job started jobId=r-1 model=tiny-world steps=20
// made from the JSON record pino writes. pino-pretty is not used for this: it writes strings as they came, so an
// ESC sequence or a C1 control in a prompt would reach the terminal raw, and it spreads objects over several lines.
// Here everything that came from outside (the message, keys, values, error texts) goes through shared/log-escape.ts:
// no control character, line separator or bidi control is written raw, and one event stays one line (an error's
// stack is cut to its first frame here; the JSON form carries all of it). Colour, on a terminal only, is added to
// the level word after escaping, so no logged text can colour anything.
import { escapeLogText, formatLogFields, formatLogValue } from '../log-escape.ts';

/** Keys of the record that the line shows in its head (or never), not as key=value fields. */
const HEAD_KEYS = new Set(['level', 'time', 'msg', 'scope', 'pid', 'hostname', 'err']);

const COLOURS: Record<string, string> = { debug: '\x1b[90m', info: '\x1b[32m', warn: '\x1b[33m', error: '\x1b[31m', fatal: '\x1b[35m' };
const RESET = '\x1b[0m';

/** The error as pino's err serializer writes it (type, message, stack, code, cause…). */
interface SerializedError {
  type?: unknown;
  message?: unknown;
  stack?: unknown;
  code?: unknown;
  cause?: unknown;
}

/** The first "at …" frame of a stack, skipping the message part (which may itself hold "\n    at …"). */
function firstFrame(err: SerializedError): string | undefined {
  if (typeof err.stack !== 'string') return undefined;
  const message = typeof err.message === 'string' ? err.message : '';
  const start = message ? err.stack.indexOf(message) : -1;
  const rest = start >= 0 ? err.stack.slice(start + message.length) : err.stack;
  return rest.split('\n').find((l) => /^\s+at /.test(l))?.trim().slice(3);
}

function errorFields(err: unknown): Record<string, unknown> {
  if (err === null || typeof err !== 'object') return { error: err };
  const e = err as SerializedError;
  const cause = e.cause !== null && typeof e.cause === 'object' ? (e.cause as SerializedError) : undefined;
  return {
    error: `${String(e.type ?? 'Error')}: ${String(e.message ?? '')}`,
    code: typeof e.code === 'string' || typeof e.code === 'number' ? e.code : undefined,
    cause: cause ? `${String(cause.type ?? 'Error')}: ${String(cause.message ?? '')}` : undefined,
    at: firstFrame(e),
  };
}

export interface PrettyOptions {
  /** Colour the level word (ANSI), for a terminal. Default false. */
  colours?: boolean;
}

/** One record (pino's JSON line, parsed) as one readable line, without the newline. */
export function prettyLine(record: Record<string, unknown>, options: PrettyOptions = {}): string {
  const level = typeof record.level === 'string' ? record.level : 'info';
  const word = level.toUpperCase().padEnd(5);
  const levelText = options.colours && COLOURS[level] ? `${COLOURS[level]}${word}${RESET}` : escapeLogText(word);
  const time = typeof record.time === 'string' ? record.time : typeof record.time === 'number' ? new Date(record.time).toISOString() : '';
  const scope = record.scope === undefined ? '' : ` [${escapeLogText(String(record.scope))}]`;
  const msg = record.msg === undefined ? '' : ` ${escapeLogText(typeof record.msg === 'string' ? record.msg : formatLogValue(record.msg))}`;
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (!HEAD_KEYS.has(k)) fields[k] = v;
  const err = record.err === undefined ? {} : errorFields(record.err);
  return `${escapeLogText(time)} ${levelText}${scope}${msg}${formatLogFields(fields)}${formatLogFields(err)}`;
}
