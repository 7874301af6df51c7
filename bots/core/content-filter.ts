// A small, configurable blocklist. It is a courtesy gate for shared channels, not a safety system: whole words
// (and simple plurals) are matched case-insensitively in the prompt; refusals say which term and ask to rephrase.
import { ContentRefusedError } from './errors.ts';

export interface ContentFilterOptions {
  /** Terms refused in prompts (whole words or phrases, case-insensitive). Default: DEFAULT_BLOCKED_TERMS. */
  blockedTerms?: readonly string[];
  /** Terms added to the defaults instead of replacing them. */
  extraTerms?: readonly string[];
}

export const DEFAULT_BLOCKED_TERMS: readonly string[] = ['nsfw', 'porn', 'nude', 'naked', 'gore', 'beheading', 'sexual'];

export interface ContentFilter {
  /** Throws ContentRefusedError when the text contains a blocked term. */
  check(text: string): void;
  /** The blocked term found in `text`, or undefined. */
  find(text: string): string | undefined;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function createContentFilter(options: ContentFilterOptions = {}): ContentFilter {
  const terms = [...(options.blockedTerms ?? DEFAULT_BLOCKED_TERMS), ...(options.extraTerms ?? [])]
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t.length > 0);
  const patterns = terms.map((term) => ({ term, re: new RegExp(`(^|[^\\p{L}\\p{N}])${escape(term).replace(/\s+/g, '\\s+')}(e?s)?(?=$|[^\\p{L}\\p{N}])`, 'iu') }));
  const find = (text: string) => patterns.find((p) => p.re.test(text))?.term;
  return {
    find,
    check(text) {
      const term = find(text);
      if (term !== undefined)
        throw new ContentRefusedError(`Your prompt was refused by this server's content filter (it contains "${term}"). Please rephrase it.`);
    },
  };
}
