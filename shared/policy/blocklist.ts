// The one prompt blocklist matcher, shared by the daemon (which enforces its policy on every request:
// inference/policy/) and the bot core (whose own list is an optional extra: bots/core/content-filter.ts), so a term
// means the same thing wherever it is listed.
//
// It is a word matcher, not a safety system. What it folds, on the list and the text alike (normalize.ts):
// - Unicode: NFKC (full-width and styled letters, ligatures), full case folding (ß = ss, ς = σ), format characters
//   removed (zero-width spaces and joiners, soft hyphens, bidi controls), diacritics removed from Latin, Greek and
//   Cyrillic letters ("nudé" matches "nude"; other scripts' marks change the word, so they stay);
// - plurals: a word of the text also matches as its singular by -s, -es and -ies → -y ("gores", "boxes", "puppies");
//   terms are written in the singular (a term written "spiders" does not match "spider");
// - whole words and phrases: a term matches whole words only ("scunthorpe" does not contain "cunt", "gorey" is not
//   "gore"); the words of a phrase match with any spaces or punctuation between them ("blood-bath", "blood  bath").
// - Words of scripts written without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) cannot be split into
//   words here, so terms in them match anywhere in the text, as substrings.
// Out of scope, on purpose: homoglyphs beyond NFKC (Cyrillic "а" for Latin "a"), spelled-out tricks ("n.u.d.e",
// "nuuude"), leetspeak, and meaning (a phrase that is fine in context is refused all the same: "naked mole rat" is
// refused by "naked"; an operator who minds replaces the list).
//
// Hostile input stays cheap: the list is compiled once into a trie of words (no regular expression per term), and a
// text is tokenized once and walked in O(words × longest phrase) lookups, whatever the number of terms.
import { normalizeForMatch, singularCandidates, tokenize, UNSPACED_SCRIPT } from './normalize.ts';

/** The terms every daemon refuses unless its operator gives a list of its own (ANIMATE_BLOCKLIST_FILE). */
export const DEFAULT_BLOCKED_TERMS: readonly string[] = ['nsfw', 'porn', 'nude', 'naked', 'gore', 'beheading', 'sexual'];

/** A term found in a text: the term as the list wrote it (trimmed). */
export interface BlocklistMatch {
  term: string;
}

export interface Blocklist {
  /** The first listed term found in `text` (leftmost in the text), or undefined. */
  find(text: string): BlocklistMatch | undefined;
  /** How many distinct terms the list holds. */
  readonly size: number;
}

interface TrieNode {
  /** The term ending at this word, as written in the list. */
  term?: string;
  next?: Map<string, TrieNode>;
}

/**
 * Compiles `terms` (words or phrases, as an operator writes them) into a Blocklist. A term with no letter or digit
 * matches nothing and is dropped; callers that read a file refuse such a line instead (blocklist-file.ts).
 */
export function compileBlocklist(terms: Iterable<string>): Blocklist {
  const root: TrieNode = {};
  const unspaced: Array<{ key: string; term: string }> = [];
  let size = 0;
  for (const raw of terms) {
    const term = raw.trim();
    const words = tokenize(term);
    if (words.length === 0) continue;
    if (UNSPACED_SCRIPT.test(term)) {
      const key = words.join(' ');
      if (!unspaced.some((u) => u.key === key)) {
        unspaced.push({ key, term });
        size++;
      }
      continue;
    }
    let node = root;
    for (const word of words) {
      node.next ??= new Map();
      let child = node.next.get(word);
      if (!child) node.next.set(word, (child = {}));
      node = child;
    }
    if (node.term === undefined) {
      node.term = term;
      size++;
    }
  }

  /** The term of a phrase starting at word `i`, if one does. */
  function phraseAt(words: readonly string[], i: number): string | undefined {
    let node = root;
    for (let j = i; j < words.length; j++) {
      const word = words[j]!;
      // A plural ends a phrase: "blood baths" matches "blood bath"; the inner words are matched as written.
      for (const singular of singularCandidates(word)) {
        const end = node.next?.get(singular);
        if (end?.term !== undefined) return end.term;
      }
      const child = node.next?.get(word);
      if (!child) return undefined;
      if (child.term !== undefined) return child.term;
      node = child;
    }
    return undefined;
  }

  return {
    size,
    find(text) {
      const words = tokenize(text);
      for (let i = 0; i < words.length; i++) {
        const term = phraseAt(words, i);
        if (term !== undefined) return { term };
      }
      if (unspaced.length > 0) {
        const joined = words.join(' ');
        for (const u of unspaced) if (joined.includes(u.key)) return { term: u.term };
      }
      return undefined;
    },
  };
}

export { normalizeForMatch };
