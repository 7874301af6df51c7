// The daemon's prompt policy: every Generate, from any client (a bot, the CLI, a plugin, grpcurl), has its prompt and
// its negative prompt checked against one blocklist before it is admitted (server/animator-service.ts), so no client
// can skip it. The list is the operator's file (ANIMATE_BLOCKLIST_FILE) or, without one, DEFAULT_BLOCKED_TERMS; the
// matching rules are the shared matcher's (shared/policy/blocklist.ts).
import { compileBlocklist, DEFAULT_BLOCKED_TERMS, type Blocklist } from '../../shared/policy/blocklist.ts';
import type { PromptPolicyField } from '../../shared/wire/prompt-refusal.ts';
import { InvalidArgumentError, PromptRefusedError } from '../errors.ts';
import { readBlocklistFile } from './blocklist-file.ts';

/** Characters of a prompt (or negative prompt) the policy reads at most; a longer one is refused (INVALID_ARGUMENT). */
export const MAX_POLICY_TEXT_CHARS = 20_000;

export interface PromptPolicyOptions {
  /** A blocklist file (ANIMATE_BLOCKLIST_FILE): its terms replace the defaults. Default: none. */
  blocklistFile?: string | undefined;
  /** Terms given in code, instead of a file (tests, embedders). Default: DEFAULT_BLOCKED_TERMS. */
  blockedTerms?: readonly string[] | undefined;
}

/** Why a request was refused, as animate_refusals_total's `reason` label counts it. */
export type RefusalReason = 'blocklist';

export interface PromptPolicy {
  /** Throws PromptRefusedError naming the field and the term when the prompt or the negative prompt holds a blocked term. */
  check(request: { prompt: string; negativePrompt: string }): void;
  /** Where the list came from, for the start-up line: "ANIMATE_BLOCKLIST_FILE (path): 12 terms" or "the default list: 7 terms". */
  readonly description: string;
  readonly size: number;
}

/** The policy from its options; a bad file throws BlocklistFileError (at start-up, naming the variable and the line). */
export function createPromptPolicy(options: PromptPolicyOptions = {}): PromptPolicy {
  if (options.blocklistFile !== undefined && options.blockedTerms !== undefined) throw new TypeError('createPromptPolicy takes blocklistFile or blockedTerms, not both');
  const fromFile = options.blocklistFile !== undefined;
  const blocklist: Blocklist = compileBlocklist(fromFile ? readBlocklistFile(options.blocklistFile!) : (options.blockedTerms ?? DEFAULT_BLOCKED_TERMS));
  const source = fromFile ? `ANIMATE_BLOCKLIST_FILE (${options.blocklistFile})` : options.blockedTerms ? 'the given list' : 'the default list';
  const fields: Array<[PromptPolicyField, 'prompt' | 'negativePrompt']> = [
    ['prompt', 'prompt'],
    ['negative_prompt', 'negativePrompt'],
  ];
  return {
    size: blocklist.size,
    description: `${source}: ${blocklist.size} term${blocklist.size === 1 ? '' : 's'}`,
    check(request) {
      for (const [field, key] of fields) {
        const text = request[key] ?? '';
        // The policy runs before the model's own length limit (validate.ts), on anything a message can carry (MiBs):
        // past this bound a text is refused unread, so no request can hold the event loop in the matcher.
        if (text.length > MAX_POLICY_TEXT_CHARS) throw new InvalidArgumentError(field, `is ${text.length} characters long; this daemon reads at most ${MAX_POLICY_TEXT_CHARS}`);
        const match = blocklist.find(text);
        if (match) throw new PromptRefusedError(field, match.term);
      }
    },
  };
}
