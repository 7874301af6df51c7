// Which follow-ups in a clip's thread ask to continue the clip (issue #22's Extend, by conversation) rather than
// refine it: "continue", "keep going", "extend it", "and then the ball rolls away". The words live here, once, so
// that follow-ups.ts, any help text that lists them and the tests agree on them; like conversation.ts's rules they are
// plain on purpose (an opening at the very start, nothing guessed from the middle of a sentence), so people learn
// them from the reply and "make it blue" can never be taken for a continuation. Pure.

/**
 * The openings that ask for a continuation, matched as whole words at the start of the message (after politeness:
 * "ok", "please", "can you" ...). What follows them, if anything, is the continuation's prompt; nothing means the
 * same prompt as the clip being continued.
 */
export const CONTINUE_OPENINGS: readonly string[] = Object.freeze(['and then', 'keep going', 'carry on', 'continue', 'extend']);

/**
 * Words naming the clip right after an opening ("extend it", "continue the clip with ..."): dropped when nothing or a
 * connector follows them, since they are no prompt; "and then it rolls away" keeps its "it".
 */
export const CLIP_WORDS: readonly string[] = Object.freeze(['it', 'this', 'that', 'the clip', 'the video', 'the animation', 'the scene', 'the story']);

/**
 * Words joining an opening to the new prompt ("continue with the ball rolling away", "extend it so that it stops"):
 * dropped, so the prompt reads as a description. Longest first, so "and then" wins over "and".
 */
export const CONTINUE_CONNECTORS: readonly string[] = Object.freeze(['and then', 'so that', 'with', 'and', 'then', 'so', 'where', 'while', 'until', 'as']);

/** Politeness before the opening, as conversation.ts's normaliseFollowUp strips it, but keeping "and" and "then". */
const POLITE_PREFIX = /^(?:(?:ok(?:ay)?|now|please|pls|can you|could you|hmm+)[,\s]+)+/i;

export interface Continuation {
  /** The continuation's prompt; undefined: the continued clip's own. */
  readonly prompt?: string;
  /** One line saying what was understood, for the reply (AnimateResult.refinement). */
  readonly summary: string;
}

const phrases = (words: readonly string[]) => words.map((w) => w.replace(/\s+/g, '\\s+')).join('|');
const OPENING = new RegExp(`^(?:${phrases(CONTINUE_OPENINGS)})\\b`, 'i');
const CLIP_OBJECT = new RegExp(`^(?:${phrases(CLIP_WORDS)})\\b`, 'i');
const CONNECTOR = new RegExp(`^(?:${phrases(CONTINUE_CONNECTORS)})\\b`, 'i');
const SEPARATORS = /^[\s,:;.!?…–—-]+/;

const strip = (s: string, re: RegExp) => s.replace(re, '').replace(SEPARATORS, '');

/** `t` without a leading clip word, when what follows it is nothing, a separator or a connector. */
function withoutClipWord(t: string): string {
  const m = CLIP_OBJECT.exec(t);
  if (!m) return t;
  const after = t.slice(m[0].length);
  return after.trim() === '' || SEPARATORS.test(after.replace(/^ +/, '')) || CONNECTOR.test(after.trimStart()) ? strip(t, CLIP_OBJECT) : t;
}

/** A continuation when `text` opens with one of CONTINUE_OPENINGS; undefined for anything else (a refinement). */
export function parseContinuation(text: string): Continuation | undefined {
  let t = text.trim().replace(/[\s.!?…]+$/, '').replace(/[\s,]+please$/i, '').replace(POLITE_PREFIX, '');
  if (!OPENING.test(t)) return undefined;
  t = strip(t, OPENING);
  t = withoutClipWord(t);
  t = strip(t, CONNECTOR);
  const prompt = t.replace(/\s+/g, ' ').trim();
  if (!prompt) return { summary: 'continued from the last frame, same prompt' };
  return { prompt, summary: `continued from the last frame: "${prompt}"` };
}
