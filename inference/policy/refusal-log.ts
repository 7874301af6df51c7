// The accounting of a refused request: counted in the metrics (animate_refusals_total{reason}) and logged with who
// asked (the requester the request names: platform, server, user, and its request_id), so an operator can see who
// keeps hitting the policy. The prompt's text is personal and may be the very thing refused, so it stays out of the
// log unless the operator opts in (ANIMATE_LOG_PROMPTS=true); then it is logged as a bounded excerpt with its control
// characters escaped (inference/excerpt.ts), like any other user text in the daemon's log.
import type { GenerateRequest__Output } from '../../shared/rpc/types.ts';
import type { PromptRefusedError } from '../errors.ts';
import { excerpt } from '../excerpt.ts';
import type { DaemonLogger } from '../log.ts';
import type { RefusalReason } from './prompt-policy.ts';

/** Characters of a prompt logged at most when ANIMATE_LOG_PROMPTS is on (the policy runs before the model's length check). */
export const LOGGED_PROMPT_CHARS = 1000;

export interface RefusalAccounting {
  log: DaemonLogger;
  /** Counts a refusal (DaemonMetrics.refused). Default: not counted. */
  count?: ((reason: RefusalReason) => void) | undefined;
  /** ANIMATE_LOG_PROMPTS: put the prompt and negative prompt in the log line. Default false. */
  logPrompts?: boolean | undefined;
}

/** Who asked, as the request names them: the fields every refusal line carries. */
export function requesterFields(request: Pick<GenerateRequest__Output, 'requester' | 'requestId'>): Record<string, string> {
  const r = request.requester;
  return {
    platform: String(r?.platform ?? 'PLATFORM_UNSPECIFIED'),
    serverId: excerpt(r?.serverId ?? ''),
    userId: excerpt(r?.userId ?? ''),
    requestId: excerpt(request.requestId ?? ''),
  };
}

export function recordRefusal(accounting: RefusalAccounting, request: GenerateRequest__Output, error: PromptRefusedError, reason: RefusalReason = 'blocklist'): void {
  accounting.count?.(reason);
  const prompts = accounting.logPrompts ? { prompt: excerpt(request.prompt, LOGGED_PROMPT_CHARS), negativePrompt: excerpt(request.negativePrompt, LOGGED_PROMPT_CHARS) } : {};
  accounting.log.info('request refused', { reason, code: error.code, field: error.field, term: error.term, ...requesterFields(request), ...prompts });
}
