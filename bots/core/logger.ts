// A minimal logger dependency: adapters pass their own; the default writes one line per event to stderr with a
// prefix. Messages and details carry chat text and platform errors, so everything goes through
// shared/log-escape.ts: a "\n" or an ESC sequence from a user can neither forge a log line nor colour the terminal.
import { escapeLogText, formatLogFields, formatLogValue } from '../../shared/log-escape.ts';

export interface Logger {
  debug(message: string, detail?: unknown): void;
  info(message: string, detail?: unknown): void;
  warn(message: string, detail?: unknown): void;
  error(message: string, detail?: unknown): void;
}

/** Stack frames kept under an error's line: enough to find the code, few enough to keep logs readable. */
const STACK_FRAMES = 8;

/**
 * Frame lines of an error's stack ("    at f (file:1:2)"), each escaped. The message part of the stack is skipped
 * first, so a message holding "\n    at …" cannot pose as a frame.
 */
function stackFrames(err: Error): string[] {
  const stack = err.stack ?? '';
  const end = err.message ? stack.indexOf(err.message) : -1;
  const lines = (end >= 0 ? stack.slice(end + err.message.length) : stack).split('\n');
  return lines.filter((l) => /^\s+at /.test(l)).slice(0, STACK_FRAMES).map((l) => `    ${escapeLogText(l.trim())}`);
}

/** The detail as ` key=value` text: an Error as its name, message, code and cause; an object as its fields. */
export function formatDetail(detail: unknown): { text: string; frames: string[] } {
  if (detail === undefined) return { text: '', frames: [] };
  if (detail instanceof Error) {
    const code = (detail as { code?: unknown }).code;
    const cause = detail.cause instanceof Error ? detail.cause : undefined;
    const text = formatLogFields({ error: detail, code: typeof code === 'string' || typeof code === 'number' ? code : undefined, cause });
    return { text, frames: stackFrames(detail) };
  }
  if (detail !== null && typeof detail === 'object' && !Array.isArray(detail)) {
    return { text: formatLogFields(detail as Record<string, unknown>), frames: [] };
  }
  return { text: ` ${formatLogValue(detail)}`, frames: [] };
}

/**
 * Logs to `write` (default: stderr), one line per event plus indented stack frames for errors. Debug lines are
 * dropped unless `debug` is true (default false).
 */
export function consoleLogger(prefix = '[bot]', write: (line: string) => void = (l) => process.stderr.write(l + '\n'), debug = false): Logger {
  const out = (level: string) => (message: string, detail?: unknown) => {
    const { text, frames } = formatDetail(detail);
    write([`${escapeLogText(prefix)} ${level} ${escapeLogText(message)}${text}`, ...frames].join('\n'));
  };
  return { debug: debug ? out('debug') : () => {}, info: out('info'), warn: out('warn'), error: out('error') };
}

export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
