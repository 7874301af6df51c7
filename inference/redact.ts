// Keeps server-side detail out of what a client reads. Status messages reach chat users, who must not learn where the
// daemon keeps its files (absolute paths name users, mounts and layouts) or read its stack traces; the daemon's log
// keeps the full text. Applied where a DaemonError becomes a gRPC status (toServiceError) and by ModelInvalidError.

/** Absolute POSIX paths (and file:// URLs), not preceded by a word character, ':' or '/' (so URLs stay intact). */
const POSIX_PATH = /(?<![\w.~/:-])(?:file:\/\/)?\/(?:[^\s/'"`()<>,;:]+\/)+[^\s/'"`()<>,;:]*/g;
/** Absolute Windows paths: C:\dir\file or C:/dir/file. */
const WINDOWS_PATH = /(?<![\w])[A-Za-z]:[\\/](?:[^\s\\/'"`()<>,;:]+[\\/])+[^\s\\/'"`()<>,;:]*/g;
/** V8 stack frames ("    at f (file:1:2)") with the line break before them. */
const STACK_FRAME = /\r?\n[ \t]*at [^\n]*/g;

/** A path as "…/<last part>": enough to tell which file, nothing about where it lives. */
function lastPart(pathText: string): string {
  const parts = pathText.split(/[\\/]/).filter(Boolean);
  return `…/${parts.at(-1) ?? ''}`;
}

/** The text with stack frames dropped and every absolute path cut to its last part. */
export function redactServerDetail(text: string): string {
  return text.replace(STACK_FRAME, '').replace(POSIX_PATH, lastPart).replace(WINDOWS_PATH, lastPart);
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
