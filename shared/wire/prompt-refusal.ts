// The words of a PROMPT_REFUSED status (shared/wire/error-codes.ts), written once for both wings: the daemon words its
// refusal with promptRefusalMessage, and a client (the bot core's rpc-errors.ts) reads the field and the term back
// with parsePromptRefusal to say it in its own words. The message stays readable as it is for a client that does not
// parse it (the CLI, grpcurl): it names the field and the term.

/** The request fields the prompt policy reads, by their wire (proto) names. */
export const PROMPT_POLICY_FIELDS = ['prompt', 'negative_prompt'] as const;
export type PromptPolicyField = (typeof PROMPT_POLICY_FIELDS)[number];

const PREFIX = "refused by this server's content policy: it contains the blocked term ";

/** `prompt: refused by this server's content policy: it contains the blocked term "gore"`. */
export function promptRefusalMessage(field: PromptPolicyField, term: string): string {
  return `${field}: ${PREFIX}${JSON.stringify(term)}`;
}

/** The field and the term of a PROMPT_REFUSED message, or undefined when it is not one (another daemon's wording). */
export function parsePromptRefusal(details: string): { field: PromptPolicyField; term: string } | undefined {
  for (const field of PROMPT_POLICY_FIELDS) {
    const start = `${field}: ${PREFIX}`;
    if (!details.startsWith(start)) continue;
    try {
      const term: unknown = JSON.parse(details.slice(start.length));
      return typeof term === 'string' && term.length > 0 ? { field, term } : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
