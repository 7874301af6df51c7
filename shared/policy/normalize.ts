// How the blocklist matcher (blocklist.ts) sees text: one normal form for the list and the prompts alike, its words,
// and a word's possible singulars. Kept apart from the matcher so that what counts as "the same word" is written once
// and can be tested on its own.

/**
 * Format characters (zero-width space, joiners, word joiner, BOM, soft hyphen, bidi embeddings, overrides and
 * isolates, Arabic letter mark) and other default-ignorable code points: invisible, so they must not split or hide a word.
 */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;
/** Combining marks on Latin, Greek and Cyrillic letters (after NFD): accents, which do not make another word there. */
const FOLDED_DIACRITICS = /([\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}])\p{Mn}+/gu;
/** A word: letters, digits and the marks that belong to them (other scripts' vowel signs). */
const WORD = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;
/** Scripts written without spaces between words: their terms match as substrings (blocklist.ts). */
export const UNSPACED_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/** `text` in the matcher's normal form: NFKC, invisible characters removed, case-folded, Latin/Greek/Cyrillic accents removed. */
export function normalizeForMatch(text: string): string {
  const compatible = text.normalize('NFKC').replace(INVISIBLE, '');
  // toUpperCase then toLowerCase is full case folding for what matters here (ß → SS → ss); lowering puts a final
  // sigma back (Σ at a word's end → ς), so ς is folded to σ after it.
  const folded = compatible.toUpperCase().toLowerCase().replace(/ς/g, 'σ');
  return folded.normalize('NFD').replace(FOLDED_DIACRITICS, '$1').normalize('NFC');
}

/** The words of `text` in normal form, in order. */
export function tokenize(text: string): string[] {
  return normalizeForMatch(text).match(WORD) ?? [];
}

/**
 * The singulars a (normalized) word may be the plural of, by the simple English rules: -ies → -y ("puppies"), -es
 * ("boxes"), -s ("gores"; not "-ss": "glass" is no plural). Empty when it looks like no plural. Words of 3 letters or
 * fewer are left alone ("us", "gas" would otherwise match "u", "ga").
 */
export function singularCandidates(word: string): string[] {
  if (word.length <= 3 || !word.endsWith('s')) return [];
  const out: string[] = [];
  if (word.endsWith('ies') && word.length > 4) out.push(`${word.slice(0, -3)}y`);
  if (word.endsWith('es')) out.push(word.slice(0, -2));
  if (!word.endsWith('ss')) out.push(word.slice(0, -1));
  return out;
}
