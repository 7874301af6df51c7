// The shared blocklist matcher (shared/policy/blocklist.ts) on its own: what matches and what must not (a table with
// exact expectations), the bot core's filter on top of it, the wire's refusal words, and hostile sizes.
import { describe, expect, it } from 'vitest';
import { compileBlocklist, DEFAULT_BLOCKED_TERMS } from '../../shared/policy/blocklist.ts';
import { normalizeForMatch, singularCandidates, tokenize } from '../../shared/policy/normalize.ts';
import { parsePromptRefusal, promptRefusalMessage } from '../../shared/wire/prompt-refusal.ts';
import { contentRefusedMessage, createContentFilter } from '../../bots/core/content-filter.ts';
import { ContentRefusedError } from '../../bots/core/errors.ts';

const list = compileBlocklist([...DEFAULT_BLOCKED_TERMS, 'blood bath', 'puppy', 'box', 'straße', '裸体', 'ёлка']);

// [text, the term found (undefined: none)]
const CASES: Array<[string, string | undefined]> = [
  // whole words, case
  ['a nude statue', 'nude'],
  ['A NUDE STATUE', 'nude'],
  ['NSFW!', 'nsfw'],
  ['(gore)', 'gore'],
  ["the nude's pose", 'nude'],
  // plurals: -s, -es, -ies → -y; only at a word's end
  ['two nudes', 'nude'],
  ['beheadings', 'beheading'],
  ['boxes of toys', 'box'],
  ['puppies play', 'puppy'],
  ['blood baths', 'blood bath'],
  // phrases: any spaces or punctuation between their words
  ['a blood bath', 'blood bath'],
  ['a blood-bath', 'blood bath'],
  ['a blood   bath', 'blood bath'],
  ['a blood,\tbath', 'blood bath'],
  // Unicode: NFKC, full case folding, accents (Latin, Greek, Cyrillic), invisible characters
  ['ｎｕｄｅ', 'nude'], // full-width letters
  ['𝐧𝐮𝐝𝐞', 'nude'], // mathematical bold
  ['a nudé figure', 'nude'], // precomposed é
  ['a nude\u0301 figure', 'nude'], // e + combining acute
  ['NÚDE', 'nude'],
  ['nu\u200bde', 'nude'], // zero-width space
  ['nu\u00adde', 'nude'], // soft hyphen
  ['n\u202eude', 'nude'], // right-to-left override
  ['go\u2066re', 'gore'], // left-to-right isolate
  ['STRASSE', 'straße'], // ß folds to ss
  ['Елка', 'ёлка'], // Cyrillic ё/е
  ['这是裸体照片', '裸体'], // a script without spaces: substring
  // must NOT match: substrings of other words, near words, what is out of scope
  ['scunthorpe', undefined],
  ['a gorey mess', undefined],
  ['a Gorengan snack', undefined],
  ['a nudist beach', undefined],
  ['pornography', undefined],
  ['blood on the bath', undefined],
  ['a bloodbath', undefined], // one word is not the phrase
  ['n.u.d.e', undefined], // spelled out: out of scope
  ['nudе', undefined], // Cyrillic е: a homoglyph beyond NFKC, out of scope
  ['a red ball bounces', undefined],
  ['', undefined],
  // a known false positive, decided: whole words are refused whatever the context
  ['a naked mole rat', 'naked'],
];

describe('the blocklist matcher', () => {
  it.each(CASES)('%j → %s', (text, term) => {
    expect(list.find(text)?.term).toBe(term);
  });

  it('folds text as documented', () => {
    expect(normalizeForMatch('Ｓtraße\u200b Ćevapi ΆΣ')).toBe('strasse cevapi ασ');
    expect(tokenize("Hello, wörld! it's 3-D")).toEqual(['hello', 'world', 'it', 's', '3', 'd']);
    expect(singularCandidates('puppies')).toEqual(['puppy', 'puppi', 'puppie']);
    expect(singularCandidates('glass')).toEqual([]);
    expect(singularCandidates('gas')).toEqual([]);
  });

  it('counts distinct terms, drops terms without a letter or digit, and names a term as the list wrote it', () => {
    const l = compileBlocklist(['Gore', ' gore ', 'GORE', '---', '', 'Blood  Bath']);
    expect(l.size).toBe(2);
    expect(l.find('gore')?.term).toBe('Gore');
    expect(l.find('blood bath')?.term).toBe('Blood  Bath');
  });

  it('stays fast on hostile sizes: 10 000 terms and long prompts', () => {
    const terms = Array.from({ length: 10_000 }, (_, i) => `term${i} word${i % 97}`);
    terms.push(...Array.from({ length: 1000 }, (_, i) => `a a a a a a a a a x${i}`)); // phrases sharing a long prefix
    const t0 = performance.now();
    const big = compileBlocklist(terms);
    const compileMs = performance.now() - t0;
    const prompt500 = 'a '.repeat(250);
    const t1 = performance.now();
    for (let i = 0; i < 100; i++) expect(big.find(prompt500)).toBeUndefined();
    const per500 = (performance.now() - t1) / 100;
    const megabyte = `${'a '.repeat(500_000)}term9999 word8`;
    const t2 = performance.now();
    expect(big.find(megabyte)?.term).toBe('term9999 word8');
    const perMb = performance.now() - t2;
    console.log(`blocklist: ${big.size} terms compiled in ${compileMs.toFixed(1)} ms; a 500-char prompt of phrase prefixes ${per500.toFixed(3)} ms; 1 MB ${perMb.toFixed(0)} ms`);
    expect(big.size).toBe(11_000);
    // Generous bounds for a loaded 2-core machine; a regex per term would take seconds here.
    expect(per500).toBeLessThan(50);
    expect(perMb).toBeLessThan(5000);
  });
});

describe("the bot core's filter on the shared matcher", () => {
  it('refuses with the message people saw before, naming the term and which text', () => {
    const filter = createContentFilter();
    expect(filter.find('a NUDÉ statue')).toBe('nude');
    expect(() => filter.check('lots of gore')).toThrow(new ContentRefusedError('Your prompt was refused by this server\'s content filter (it contains "gore"). Please rephrase it.'));
    expect(() => filter.check('lots of gore', 'negative prompt')).toThrow('Your negative prompt was refused by this server\'s content filter (it contains "gore"). Please rephrase it.');
    expect(createContentFilter({ blockedTerms: ['spider'] }).find('gore')).toBeUndefined();
    expect(createContentFilter({ blockedTerms: ['spider'], extraTerms: ['wasp'] }).find('two wasps')).toBe('wasp');
  });
});

describe("the wire's refusal words", () => {
  it('round-trip the field and the term, and refuse other wording', () => {
    const message = promptRefusalMessage('negative_prompt', 'blood "bath"');
    expect(message).toBe('negative_prompt: refused by this server\'s content policy: it contains the blocked term "blood \\"bath\\""');
    expect(parsePromptRefusal(message)).toEqual({ field: 'negative_prompt', term: 'blood "bath"' });
    expect(parsePromptRefusal(promptRefusalMessage('prompt', 'gore'))).toEqual({ field: 'prompt', term: 'gore' });
    expect(parsePromptRefusal('prompt: refused, it contains "gore"')).toBeUndefined();
    expect(parsePromptRefusal('prompt: refused by this server\'s content policy: it contains the blocked term "go')).toBeUndefined();
    expect(contentRefusedMessage('gore', 'negative prompt')).toBe('Your negative prompt was refused by this server\'s content filter (it contains "gore"). Please rephrase it.');
  });
});
