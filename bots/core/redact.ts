// What of an error's text may be shown in a chat. Daemon and library messages can carry server paths
// (/home/ci/models/x/transformer.onnx, C:\models\...) and stack traces; chat users should see neither. This keeps
// the first line, replaces anything that looks like an absolute path and caps the length. The full text goes to
// the bot's log, not here.

/** Longest detail shown to a person, in characters (the daemon cuts quoted user text to 200). */
export const MAX_SHOWN_DETAIL_CHARS = 300;

/** What a removed path is replaced with. */
export const PATH_PLACEHOLDER = '[server path]';

// Two or more "/segment"s not glued to a word before them, e.g. /home/u/x.onnx or the path of file:///srv/m; one
// segment ("/animate help") and slashes inside words ("16/9", "and/or") are not paths.
const UNIX_PATH = /(?<![\w.~-])(?:\/[^\s/'"`<>()[\]{}:,;]+){2,}\/?/g;
// C:\x\y, C:/x/y, and UNC \\server\share.
const WINDOWS_PATH = /(?<![\w])(?:[A-Za-z]:[\\/]|\\\\)[^\s'"`<>()[\]{}:,;]*/g;
// A stack frame that slipped onto the first line ("... at fn (file:line:col)").
const STACK_FRAME = /\s+at\s+\S*\s*\(?[^)]*:\d+:\d+\)?/g;

/** The part of `text` fit to show a person: one line, no absolute paths or stack frames, at most `max` characters. */
export function redactDetail(text: string | undefined, max = MAX_SHOWN_DETAIL_CHARS): string {
  if (!text) return '';
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  let out = firstLine
    .replace(STACK_FRAME, '')
    .replace(WINDOWS_PATH, PATH_PLACEHOLDER)
    .replace(UNIX_PATH, PATH_PLACEHOLDER)
    // Control characters have no business in a chat message.
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .trim();
  if (out.length > max) out = `${out.slice(0, max - 1).trimEnd()}…`;
  return out;
}

/** True when `text` still looks like it carries a server path (for tests and assertions in adapters). */
export function looksLikeServerPath(text: string): boolean {
  return new RegExp(UNIX_PATH.source).test(text) || new RegExp(WINDOWS_PATH.source).test(text);
}
