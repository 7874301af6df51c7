// Conversation state per thread and prompt refinement from follow-up messages.
// A thread remembers the accumulated prompt and settings of its latest job; a follow-up such as "slower",
// "now at night", "make it blue", "bigger", "add a star", "without the tree" becomes a new prompt (and sometimes a
// settings change), and the reply says which prompt was used. Rules are plain and predictable on purpose: people
// learn them from the reply, and tests can check them word for word.
import type { AnimateOptions } from './options.ts';

export interface ThreadState {
  readonly threadId: string;
  /** The prompt of the thread's latest job (already refined). */
  prompt: string;
  /** The options of the thread's latest job (prompt included), to carry settings into the next one. */
  options: AnimateOptions;
  /** The seed the latest job actually used, once known (kept so refinements change only what was asked). */
  seed?: number;
  /** The fps the latest job actually used, once known (speed refinements start from it). */
  fps?: number;
  lastJobId: string;
  updatedAt: number;
}

export interface Refinement {
  /** The new prompt. */
  prompt: string;
  /** Settings to change for the new job. */
  changes: { fps?: number; negative?: string; newSeed?: boolean };
  /** One line saying what was understood, e.g. `slower: "slowly", 8 → 5 fps`. */
  summary: string;
}

export interface RefineContext {
  fps?: number | undefined;
  minFps?: number | undefined;
  maxFps?: number | undefined;
  negative?: string | undefined;
}

const COLORS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'violet', 'pink', 'brown', 'black', 'white', 'gray', 'grey', 'golden', 'silver', 'cyan', 'magenta', 'teal'];
const SIZES_BIG = ['big', 'large', 'huge', 'giant', 'enormous'];
const SIZES_SMALL = ['small', 'little', 'tiny', 'miniature'];
const SPEEDS = ['slowly', 'quickly', 'fast', 'rapidly', 'gently', 'very slowly', 'very quickly'];
const TIMES = ['at night', 'at sunset', 'at sunrise', 'at dawn', 'at dusk', 'at noon', 'at midnight', 'during the day', 'in the morning', 'in the evening', 'in the afternoon', 'by day', 'by night', 'in daylight'];
const PLACE_PREPOSITIONS = ['in', 'on', 'under', 'over', 'inside', 'near', 'above', 'below', 'through', 'across', 'along'];

const wordRe = (words: readonly string[]) => new RegExp(`\\b(${words.map((w) => w.replace(/\s+/g, '\\s+')).join('|')})\\b`, 'i');
const tidy = (s: string) => s.replace(/\s+/g, ' ').replace(/\s+([,.!?])/g, '$1').replace(/^[,\s]+|[,\s]+$/g, '').trim();

/** Strips politeness and fillers: "please make it blue!" → "make it blue". */
export function normaliseFollowUp(text: string): string {
  let t = text.trim().replace(/[.!?]+$/g, '').trim();
  t = t.replace(/^(ok(ay)?|now|please|pls|can you|could you|and|then|hmm+|also)[,\s]+/i, '');
  t = t.replace(/^(ok(ay)?|now|please|pls|can you|could you|and|then|also)[,\s]+/i, '');
  t = t.replace(/[,\s]+please$/i, '');
  return t.trim();
}

/** Inserts an adjective before the subject: after a leading article if any ("a ball" → "a blue ball"). */
function insertAdjective(prompt: string, adjective: string, noun?: string): string {
  if (noun) {
    const re = new RegExp(`\\b(${noun.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})\\b`, 'i');
    if (re.test(prompt)) return prompt.replace(re, `${adjective} $1`);
  }
  const article = /^(an?|the|some|two|three|many)\s+/i.exec(prompt);
  if (article) {
    const rest = prompt.slice(article[0].length);
    const fixedArticle = /^an?$/i.test(article[1] ?? '') ? (/^[aeiou]/i.test(adjective) ? 'an' : 'a') : (article[1] ?? '');
    return `${fixedArticle} ${adjective} ${rest}`;
  }
  return `${adjective} ${prompt}`;
}

/** Turns a follow-up message into a new prompt for the thread. Pure. */
export function refinePrompt(previous: string, followUp: string, context: RefineContext = {}): Refinement {
  const text = normaliseFollowUp(followUp);
  const lower = text.toLowerCase();
  let m: RegExpExecArray | null;

  // Same thing again with a new seed.
  if (/^(again|another( one)?|one more|reroll|re-roll|try again|different seed|new seed)$/i.test(lower))
    return { prompt: previous, changes: { newSeed: true }, summary: 'same prompt, new seed' };

  // Speed: an adverb in the prompt, plus playback fps within the model's range.
  m = /^(?:make it |go |move )?(much |a bit |a little )?(slower|slow down|more slowly|faster|speed up|more quickly|quicker)$/i.exec(lower);
  if (m) {
    const slower = /slow/i.test(m[2] ?? '');
    const adverb = slower ? 'slowly' : 'quickly';
    const base = tidy(previous.replace(wordRe(SPEEDS), ''));
    const prompt = `${base} ${adverb}`;
    const changes: Refinement['changes'] = {};
    let fpsNote = '';
    if (context.fps !== undefined) {
      const factor = slower ? 2 / 3 : 3 / 2;
      let fps = Math.round(context.fps * factor);
      if (context.minFps !== undefined) fps = Math.max(context.minFps, fps);
      if (context.maxFps !== undefined) fps = Math.min(context.maxFps, fps);
      if (fps !== context.fps) {
        changes.fps = fps;
        fpsNote = `, ${context.fps} → ${fps} fps`;
      }
    }
    return { prompt, changes, summary: `${slower ? 'slower' : 'faster'}: "${adverb}"${fpsNote}` };
  }

  // Time of day replaces any earlier time of day.
  m = new RegExp(`^(?:make it |set it |but |show it )?(${TIMES.map((t) => t.replace(/\s+/g, '\\s+')).join('|')})$`, 'i').exec(lower);
  if (m) {
    const phrase = (m[1] ?? '').replace(/\s+/g, ' ');
    const prompt = `${tidy(previous.replace(new RegExp(`\\s*${wordRe(TIMES).source}`, 'ig'), ''))} ${phrase}`;
    return { prompt, changes: {}, summary: `time of day: "${phrase}"` };
  }

  // Colour: "make it blue", "blue", "make the ball blue", "blue ball".
  m = new RegExp(`^(?:make (?:it|them|the (\\w+)) |turn (?:it|the (\\w+)) |paint (?:it|the (\\w+)) )?(${COLORS.join('|')})(?: (\\w+))?$`, 'i').exec(lower);
  if (m) {
    const color = (m[4] ?? '').toLowerCase();
    const noun = m[1] ?? m[2] ?? m[3] ?? m[5];
    let prompt: string;
    const colorBeforeNoun = noun ? new RegExp(`\\b(${COLORS.join('|')})\\s+(${noun})\\b`, 'i') : undefined;
    if (colorBeforeNoun && colorBeforeNoun.test(previous)) prompt = previous.replace(colorBeforeNoun, `${color} $2`);
    else if (noun && new RegExp(`\\b${noun}\\b`, 'i').test(previous)) prompt = insertAdjective(previous, color, noun);
    else if (wordRe(COLORS).test(previous)) prompt = previous.replace(wordRe(COLORS), color);
    else prompt = insertAdjective(previous, color);
    return { prompt: tidy(prompt), changes: {}, summary: `colour: ${color}${noun ? ` ${noun}` : ''}` };
  }

  // Size: "bigger", "smaller", "make it huge".
  m = /^(?:make (?:it|them) )?(bigger|larger|huge|giant|smaller|tinier|tiny|small|big)$/i.exec(lower);
  if (m) {
    const bigger = /big|larg|huge|giant/i.test(m[1] ?? '');
    const already = (bigger ? wordRe(SIZES_BIG) : wordRe(SIZES_SMALL)).exec(previous)?.[1]?.toLowerCase();
    const adjective = bigger ? (already && already !== 'huge' ? 'huge' : 'big') : already && already !== 'tiny' ? 'tiny' : 'small';
    const stripped = tidy(previous.replace(wordRe([...SIZES_BIG, ...SIZES_SMALL]), ''));
    return { prompt: insertAdjective(stripped, adjective), changes: {}, summary: `size: ${adjective}` };
  }

  // Removal: "remove the star", "without the tree", "no clouds" → dropped from the prompt, added to the negative.
  m = /^(?:remove|without|no|get rid of|drop|lose)\s+(?:the |a |an |any )?(.+)$/i.exec(text);
  if (m) {
    const thing = (m[1] ?? '').trim();
    const esc = thing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const prompt = tidy(previous.replace(new RegExp(`\\s*(,?\\s*(and|with|on|in|under|over|near|at|by|behind)\\s+)?(an?|the|some)?\\s*\\b${esc}\\b`, 'ig'), ''));
    const negative = context.negative ? `${context.negative}, ${thing}` : thing;
    return { prompt: prompt || previous, changes: { negative }, summary: `without ${thing}` };
  }

  // Replacement: "replace the ball with a cube", "a cube instead of the ball".
  m = /^(?:replace|swap|change)\s+(?:the\s+)?(.+?)\s+(?:with|for|to|into)\s+(.+)$/i.exec(text) ?? swapInsteadOf(text);
  if (m) {
    const from = (m[1] ?? '').trim();
    const to = (m[2] ?? '').trim().replace(/^(an?|the)\s+/i, '');
    const re = new RegExp(`\\b${from.replace(/^(an?|the)\s+/i, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'i');
    if (re.test(previous)) {
      const prompt = fixArticles(previous.replace(re, to));
      return { prompt, changes: {}, summary: `${from} → ${to}` };
    }
  }

  // Addition: "add a star", "with a star", "and a cat".
  m = /^(?:add|with|include|plus|put)\s+(.+?)(?:\s+(?:to it|in it|too|as well))?$/i.exec(text);
  if (m) {
    const thing = (m[1] ?? '').trim();
    return { prompt: tidy(`${previous} with ${thing}`), changes: {}, summary: `added ${thing}` };
  }

  // A new place: "on the beach", "in the snow" replaces an earlier phrase with the same preposition.
  m = new RegExp(`^(?:put it |move it |set it )?(${PLACE_PREPOSITIONS.join('|')})\\s+(.+)$`, 'i').exec(text);
  if (m) {
    const preposition = (m[1] ?? '').toLowerCase();
    const phrase = `${preposition} ${(m[2] ?? '').trim()}`;
    const earlier = new RegExp(`\\s+${preposition}\\s+(the\\s+)?[^,]*?(?=\\s+(?:${[...PLACE_PREPOSITIONS, 'at', 'with', 'and', 'during', 'by'].join('|')})\\s|,|$)`, 'i');
    const prompt = earlier.test(previous) ? previous.replace(earlier, ` ${phrase}`) : `${previous} ${phrase}`;
    return { prompt: tidy(prompt), changes: {}, summary: `place: ${phrase}` };
  }

  // Anything else refines by addition, so nothing the person wrote is ignored.
  return { prompt: tidy(`${previous}, ${text}`), changes: {}, summary: `added "${text}"` };
}

function swapInsteadOf(text: string): RegExpExecArray | null {
  const m = /^(?:make it\s+)?(.+?)\s+instead of\s+(.+)$/i.exec(text);
  if (!m) return null;
  // Reorder to [whole, from, to] like the "replace X with Y" pattern.
  const out = [m[0], m[2] ?? '', m[1] ?? ''] as unknown as RegExpExecArray;
  return out;
}

/** "a apple" → "an apple", "an ball" → "a ball". */
function fixArticles(s: string): string {
  return s.replace(/\b(a|an)\s+(\w)/gi, (_all, article: string, letter: string) => {
    const vowel = /[aeiou]/i.test(letter);
    const fixed = vowel ? 'an' : 'a';
    return `${article[0] === 'A' ? fixed[0]?.toUpperCase() + fixed.slice(1) : fixed} ${letter}`;
  });
}

export interface ConversationStoreOptions {
  /** Threads remembered at most (least recently used are forgotten first). Default 2000. */
  maxThreads?: number;
}

/** Thread id → state, bounded (least recently updated threads are forgotten first). */
export class ConversationStore {
  private readonly threads = new Map<string, ThreadState>();
  private readonly maxThreads: number;

  constructor(options: ConversationStoreOptions = {}) {
    this.maxThreads = options.maxThreads ?? 2000;
  }

  get(threadId: string): ThreadState | undefined {
    return this.threads.get(threadId);
  }

  /** Records the latest job of a thread (a follow-up chains from it). */
  record(threadId: string, jobId: string, options: AnimateOptions, now: number): ThreadState {
    const state: ThreadState = { threadId, prompt: options.prompt, options, lastJobId: jobId, updatedAt: now };
    this.threads.delete(threadId);
    this.threads.set(threadId, state);
    while (this.threads.size > this.maxThreads) {
      const oldest = this.threads.keys().next().value;
      if (oldest === undefined) break;
      this.threads.delete(oldest);
    }
    return state;
  }

  /** Fills in what the daemon actually used once a thread's latest job is done. */
  completed(threadId: string, jobId: string, used: { seed: number; fps: number }): void {
    const state = this.threads.get(threadId);
    if (!state || state.lastJobId !== jobId) return;
    state.seed = used.seed;
    state.fps = used.fps;
  }

  get size(): number {
    return this.threads.size;
  }
}
