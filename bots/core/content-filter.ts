// The bot core's own blocklist: an optional extra in front of the daemon's prompt policy. The daemon refuses blocked
// prompts from every client (ANIMATE_BLOCKLIST_FILE, inference/policy/); this list only lets a bot refuse early and
// privately (an ephemeral Discord reply, a Slack response_url post), before any thread or message shows the prompt,
// and lets one bot be stricter than the daemon (extraTerms). It uses the daemon's matcher (shared/policy/blocklist.ts),
// so a term matches the same words here and there: whole words and phrases, plurals, case and Unicode folded.
// Its default is the daemon's default list; a bot whose daemon has another list should be given the same terms
// (blockedTerms), or `filter: false` to leave the policy to the daemon alone. Refusals name the term.
import { compileBlocklist, DEFAULT_BLOCKED_TERMS } from '../../shared/policy/blocklist.ts';
import { ContentRefusedError } from './errors.ts';

export { DEFAULT_BLOCKED_TERMS } from '../../shared/policy/blocklist.ts';

export interface ContentFilterOptions {
  /** Terms refused in prompts (whole words or phrases; shared/policy/blocklist.ts says how they match). Default: DEFAULT_BLOCKED_TERMS. */
  blockedTerms?: readonly string[];
  /** Terms added to blockedTerms (or the defaults) instead of replacing them. Default: none. */
  extraTerms?: readonly string[];
}

export interface ContentFilter {
  /** Throws ContentRefusedError when the text contains a blocked term; `what` names the text in the message. */
  check(text: string, what?: RefusedText): void;
  /** The blocked term found in `text` (as the list writes it), or undefined. */
  find(text: string): string | undefined;
}

/** Which text of a request was refused, in the person's words. */
export type RefusedText = 'prompt' | 'negative prompt';

/** The sentence a person sees for a refused prompt, whether this filter or the daemon's policy refused it (rpc-errors.ts). */
export function contentRefusedMessage(term: string, what: RefusedText = 'prompt'): string {
  return `Your ${what} was refused by this server's content filter (it contains "${term}"). Please rephrase it.`;
}

export function createContentFilter(options: ContentFilterOptions = {}): ContentFilter {
  const blocklist = compileBlocklist([...(options.blockedTerms ?? DEFAULT_BLOCKED_TERMS), ...(options.extraTerms ?? [])]);
  const find = (text: string) => blocklist.find(text)?.term;
  return {
    find,
    check(text, what = 'prompt') {
      const term = find(text);
      if (term !== undefined) throw new ContentRefusedError(contentRefusedMessage(term, what));
    },
  };
}
