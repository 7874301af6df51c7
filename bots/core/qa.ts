// Q&A mode: a question ("how does a ball bounce?") becomes a prompt the model can animate ("a ball bouncing").
// The rewrite is rule-based and shown to the person with the clip, so it is never a hidden guess.

const IRREGULAR_ING: Readonly<Record<string, string>> = { run: 'running', swim: 'swimming', sit: 'sitting', spin: 'spinning', hop: 'hopping', die: 'dying', lie: 'lying', get: 'getting', stop: 'stopping', drop: 'dropping', roll: 'rolling' };

/** "bounce" → "bouncing", "run" → "running", "fly" → "flying". */
export function toGerund(verb: string): string {
  const v = verb.toLowerCase();
  if (IRREGULAR_ING[v]) return IRREGULAR_ING[v];
  if (v.endsWith('ie')) return `${v.slice(0, -2)}ying`;
  if (v.endsWith('ee') || v.endsWith('ye') || v.endsWith('oe')) return `${v}ing`;
  if (v.endsWith('e') && v.length > 2) return `${v.slice(0, -1)}ing`;
  return `${v}ing`;
}

/** Turns a question into a prompt. Returns the text (without "?") unchanged when no rule applies. */
export function questionToPrompt(question: string): string {
  const q = question.trim().replace(/[?!.]+$/g, '').replace(/\s+/g, ' ').trim();
  let m: RegExpExecArray | null;
  // "how does a ball bounce", "how do birds fly", "how did the moon move"
  m = /^(?:how|why|when|where)\s+(?:does|do|did|can|will|would|could)\s+(.+?)\s+(\w+)((?:\s+(?:on|in|over|under|through|across|around|into|off|at|up|down)\b.*)?)$/i.exec(q);
  if (m) return `${m[1]} ${toGerund(m[2] ?? '')}${m[3] ?? ''}`.trim();
  // "what does a sunset look like", "what would a blue cat look like"
  m = /^what\s+(?:does|do|would|did)\s+(.+?)\s+look\s+like(.*)$/i.exec(q);
  if (m) return `${m[1]}${m[2] ?? ''}`.trim();
  // "what happens when a ball falls" → "a ball falls"
  m = /^what\s+happens\s+(?:when|if)\s+(.+)$/i.exec(q);
  if (m) return (m[1] ?? '').trim();
  // "what is a comet", "what's a wave"
  m = /^(?:what|who)(?:\s+is|'s|\s+are)\s+(.+)$/i.exec(q);
  if (m) return (m[1] ?? '').trim();
  // "show me a red ball", "can you show a ball bouncing", "animate a dog", "draw a cat"
  m = /^(?:(?:can|could|would)\s+you\s+)?(?:please\s+)?(?:show(?:\s+me|\s+us)?|animate|draw|make|create|generate)\s+(?:me\s+)?(.+)$/i.exec(q);
  if (m) return (m[1] ?? '').trim();
  return q;
}

