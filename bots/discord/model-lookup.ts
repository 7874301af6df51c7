// The daemon's model list as Discord's 3-second answers can use it: the core's cached ListModels, waited for at most
// a budget. An interaction must be answered within 3 s of Discord sending it, so autocomplete, and the checks made
// before /animate answers (which is what lets a refusal be private), give up on a slow daemon rather than miss it:
// without the list, autocomplete suggests nothing and the daemon checks the options itself.
import type { ListModelsResponse__Output } from '../../shared/rpc/types.ts';
import type { TimerHandle } from '../core/clock.ts';
import type { DiscordPluginContext } from './plugin-context.ts';

/** How long an autocomplete answer waits for ListModels (Discord drops answers after 3 s). */
export const AUTOCOMPLETE_MODELS_BUDGET_MS = 2000;
/** How long /animate waits for ListModels before answering (deferring), to check the options against the model. */
export const COMMAND_MODELS_BUDGET_MS = 1500;

/**
 * The (cached) ListModels answer, or undefined when the daemon is unreachable or slower than `budgetMs`. The budget's
 * timer is cleared as soon as the race ends: every keystroke of autocomplete comes here, and a timer left running per
 * call would pile up (and, on a clock whose timers are ref'd, hold the process open at stop).
 */
export async function modelsWithin(ctx: Pick<DiscordPluginContext, 'core' | 'clock'>, budgetMs: number): Promise<ListModelsResponse__Output | undefined> {
  let timer: TimerHandle | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = ctx.clock.setTimeout(() => resolve(undefined), budgetMs);
  });
  try {
    return await Promise.race([ctx.core.models().catch(() => undefined), timedOut]);
  } finally {
    if (timer !== undefined) ctx.clock.clearTimeout(timer);
  }
}
