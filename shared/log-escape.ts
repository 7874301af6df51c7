// Log text escaping shared by the daemon's logger (inference/log.ts) and the bots' (bots/core/logger.ts). Prompts,
// model names, cancel reasons and peer errors end up in log lines; written raw, a "\n" in them would forge a line and
// an ESC sequence would recolour or rewrite the operator's terminal. So every control character (C0, DEL, C1), the
// Unicode line/paragraph separators, the bidi controls (e.g. U+202E, which reverses what follows on screen) and lone
// surrogates are written as visible escapes: \n \r \t, \xHH below U+0100, \uHHHH above.

/** Characters never written raw to a log. */
const UNSAFE = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(ch: string): string {
  const short = SHORT[ch];
  if (short) return short;
  const code = ch.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Free text (a log message): unsafe characters escaped, everything else (backslashes, quotes) as is. */
export function escapeLogText(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** Whether a field value must be quoted to stay one unambiguous `key=value` token. */
const NEEDS_QUOTES = /[\s"=\\]|[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;

/** An Error as "Name: message", an object or array as JSON, anything else as String() does. */
function textOf(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (value !== null && typeof value === 'object') {
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {
      return String(value); // circular
    }
  }
  return String(value);
}

/**
 * A field value as one token: bare when it is plain, else in double quotes with `\` and `"` escaped as JSON does and
 * unsafe characters escaped as above (JSON.stringify alone would let C1, bidi controls and U+2028 through).
 */
export function formatLogValue(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(Number(value.toFixed(2))) : String(value);
  const text = textOf(value);
  if (text !== '' && !NEEDS_QUOTES.test(text)) return text;
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`).replace(UNSAFE, escapeChar)}"`;
}

/** ` key=value` for each defined field, keys escaped too. */
export function formatLogFields(fields: Record<string, unknown> | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${escapeLogText(k).replace(/[\s="]/g, '_')}=${formatLogValue(v)}`)
    .join('');
}
