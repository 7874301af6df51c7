// Keeps server-side detail out of what a person reads. Status messages reach chat users, who must not learn where the
// daemon keeps its files (absolute paths name users, mounts and layouts) or read its stack traces; the logs keep the
// full text. One set of rules on both sides of the wire: the daemon applies them where a DaemonError becomes a gRPC
// status (toServiceError) and in ModelInvalidError; the bots again to whatever they show (bots/core/redact.ts).

/** Absolute POSIX paths (and file:// URLs), not preceded by a word character, ':' or '/' (so URLs stay intact). */
const POSIX_PATH = /(?<![\w.~/:-])(?:file:\/\/)?\/(?:[^\s/'"`()<>,;:]+\/)+[^\s/'"`()<>,;:]*/g;
/** Absolute Windows paths: C:\dir\file, C:/dir/file, and UNC \\server\share\file. */
const WINDOWS_PATH = /(?<![\w])(?:[A-Za-z]:[\\/]|\\\\)(?:[^\s\\/'"`()<>,;:]+[\\/])*[^\s\\/'"`()<>,;:]+/g;
/** V8 stack frames ("    at f (file:1:2)") with the line break before them. */
const STACK_FRAME = /\r?\n[ \t]*at [^\n]*/g;
/** A frame that slipped onto a message line: " at fn (file:12:3)", recognised by its line and column. */
const INLINE_FRAME = /\s+at\s+\S*\s*\(?[^)\s]*:\d+:\d+\)?/g;

/** A path as "…/<last part>": enough to tell which file, nothing about where it lives. */
function lastPart(pathText: string): string {
  const parts = pathText.split(/[\\/]/).filter(Boolean);
  return `…/${parts.at(-1) ?? ''}`;
}

/** The text with stack frames dropped and every absolute path cut to its last part. */
export function redactServerDetail(text: string): string {
  return text.replace(STACK_FRAME, '').replace(INLINE_FRAME, '').replace(POSIX_PATH, lastPart).replace(WINDOWS_PATH, lastPart);
}

/**
 * The text with `dir` (a package folder) written relative to itself: "<dir>/vae_decoder/model.onnx" becomes
 * "vae_decoder/model.onnx" and "<dir>" alone becomes "the package folder"; other absolute paths are then redacted.
 */
export function relativeToFolder(text: string, dir: string): string {
  if (!dir || dir === '/') return redactServerDetail(text);
  const trimmed = dir.replace(/[\\/]+$/, '');
  const withSep = new RegExp(`${escapeRegExp(trimmed)}[\\\\/]`, 'g');
  const bare = new RegExp(`${escapeRegExp(trimmed)}(?![\\w.-])`, 'g');
  return redactServerDetail(text.replace(withSep, '').replace(bare, 'the package folder'));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** True when `text` still holds something that looks like an absolute server path (for tests and assertions). */
export function looksLikeServerPath(text: string): boolean {
  return new RegExp(POSIX_PATH.source).test(text) || new RegExp(WINDOWS_PATH.source).test(text);
}
