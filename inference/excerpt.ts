// Bounds on text that leaves the daemon in gRPC statuses. A status travels in HTTP/2 trailers, and a trailer of about
// 100 KB stops the connection carrying it from answering, for every call on it; the bots carry every person's job
// on one connection. So user text quoted back is cut to a short excerpt where it is quoted, and every status message
// is cut to a small size at the RPC boundary as a last guard.

import { escapeLogText } from '../shared/log-escape.ts';

/** Characters of user text quoted back in a message, the cut mark included. */
export const EXCERPT_CHARS = 200;
/** Bytes (UTF-8) of a status message at most. */
export const STATUS_MESSAGE_BYTES = 1024;
/** Bytes (UTF-8) of one metadata value at most. */
export const METADATA_VALUE_BYTES = 256;

const CUT_MARK = '…';

/** The first `chars` UTF-16 units of `text`, never splitting a surrogate pair. */
function head(text: string, chars: number): string {
  let end = Math.min(chars, text.length);
  const last = text.charCodeAt(end - 1);
  if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

/**
 * User text as it may be quoted in a message: control characters escaped, and when longer than `max` characters,
 * its start, "…" and the original length, e.g. `aaaa… (1048576 characters)`, all of it at most `max` characters.
 */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  // Control characters (and bidi controls) would reach chat messages and logs raw: quoted visibly, as the logs do.
  // Escape only what can be shown: a megabyte of input is never copied whole.
  const shown = escapeLogText(head(text, max + 1));
  if (text.length <= max && shown.length <= max) return shown;
  const note = `${CUT_MARK} (${text.length} characters)`;
  return `${head(shown, Math.max(0, max - note.length))}${note}`;
}

/** `text` cut to at most `maxBytes` of UTF-8, marked as cut with its original size. */
export function capBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return text;
  const mark = `${CUT_MARK} (cut from ${bytes} bytes)`;
  const budget = Math.max(0, maxBytes - Buffer.byteLength(mark));
  let used = 0;
  let end = 0;
  for (const ch of text) {
    const b = Buffer.byteLength(ch);
    if (used + b > budget) break;
    used += b;
    end += ch.length;
  }
  return `${text.slice(0, end)}${mark}`;
}

/** A status message as it may be sent: at most STATUS_MESSAGE_BYTES. */
export function capStatusMessage(message: string): string {
  return capBytes(message, STATUS_MESSAGE_BYTES);
}
