// What of an error's text may be shown in a chat: one line, no server paths or stack frames (the rules are
// shared/redact.ts, the same the daemon applies to its statuses), no control characters, and short. The full text
// goes to the bot's log, not here.
import { redactServerDetail } from '../../shared/redact.ts';

/** Longest detail shown to a person, in characters (the daemon cuts quoted user text to 200). */
export const MAX_SHOWN_DETAIL_CHARS = 300;

/** The part of `text` fit to show a person: one line, no absolute paths or stack frames, at most `max` characters. */
export function redactDetail(text: string | undefined, max = MAX_SHOWN_DETAIL_CHARS): string {
  if (!text) return '';
  // Stack frames first (they follow a line break), then the first line of what is left.
  const firstLine = redactServerDetail(text).split(/\r?\n/, 1)[0] ?? '';
  let out = firstLine
    // Control characters have no business in a chat message.
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .trim();
  if (out.length > max) out = `${out.slice(0, max - 1).trimEnd()}…`;
  return out;
}
