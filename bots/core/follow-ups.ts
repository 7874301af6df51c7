// Conversation: a message in a clip's thread refines that clip ("make it blue", "slower", "again"), and a question
// (Q&A) becomes a prompt that is animated with the rewrite shown. Both end in the same admission as /animate.
import type { JobSurface, Requester } from './adapter.ts';
import type { AnimateExtra, AnimateFn, AnimateResult } from './api.ts';
import { refinePrompt, type ConversationStore, type ThreadState } from './conversation.ts';
import { InvalidOptionsError, UnknownJobError } from './errors.ts';
import type { IdSource } from './ids.ts';
import type { ChatJobs } from './jobs.ts';
import type { Logger } from './logger.ts';
import type { ModelCatalog } from './model-catalog.ts';
import type { AnimateOptions } from './options.ts';
import { questionToPrompt } from './qa.ts';
import { refuse } from './refusal.ts';
import { spawnFrom } from './actions.ts';

export interface FollowUpContext {
  conversations: ConversationStore;
  jobs: ChatJobs;
  catalog: ModelCatalog;
  ids: IdSource;
  logger: Logger;
  animate: AnimateFn;
}

/** The next job's options: the thread's, with the refined prompt and whatever the follow-up changed. */
async function refinedOptions(ctx: FollowUpContext, state: ThreadState, text: string) {
  const model = await ctx.catalog.find(state.options.model).catch(() => undefined);
  const refinement = refinePrompt(state.prompt, text, {
    fps: state.fps ?? state.options.fps ?? model?.defaults?.fps,
    minFps: model?.limits?.minFps,
    maxFps: model?.limits?.maxFps,
    negative: state.options.negative,
  });
  const seed = refinement.changes.newSeed ? ctx.ids.seed() : (state.seed ?? state.options.seed);
  const options: AnimateOptions = {
    ...state.options,
    prompt: refinement.prompt,
    variants: 1,
    ...(seed === undefined ? {} : { seed }),
    ...(refinement.changes.fps !== undefined ? { fps: refinement.changes.fps } : {}),
    ...(refinement.changes.negative !== undefined ? { negative: refinement.changes.negative } : {}),
  };
  return { refinement, options };
}

/**
 * A message in `threadId`: undefined when the thread has no clip (the message is not for us); otherwise the refined
 * job, on `surface` or on one spawned from the thread's latest job.
 */
export async function followUp(ctx: FollowUpContext, threadId: string, text: string, requester: Requester, surface?: JobSurface): Promise<AnimateResult | undefined> {
  const state = ctx.conversations.get(threadId);
  if (!state) return undefined;
  const { refinement, options } = await refinedOptions(ctx, state, text);
  let target = surface;
  if (!target) {
    const last = ctx.jobs.get(state.lastJobId);
    if (!last) throw new UnknownJobError('The bot no longer remembers this thread’s clip. Start a new /animate.');
    target = await spawnFrom(last, 'follow-up', `Refined (${refinement.summary}): ${refinement.prompt}`, requester);
  }
  const result = await ctx.animate(target, requester, options, {
    threadId,
    parentId: state.lastJobId,
    derivedFrom: { kind: 'refinement', text, previousPrompt: state.prompt },
  });
  return { ...result, refinement: refinement.summary };
}

/** Q&A: the question rewritten as a prompt (questionToPrompt) and animated; the question shows in derivedFrom. */
export async function ask(ctx: FollowUpContext, surface: JobSurface, question: string, requester: Requester, extra: AnimateExtra = {}): Promise<AnimateResult> {
  const prompt = questionToPrompt(question);
  if (!prompt) return refuse(surface, new InvalidOptionsError('Ask a question or describe something to animate.', 'prompt'), ctx.logger);
  return ctx.animate(surface, requester, { prompt, variants: 1 }, { ...extra, derivedFrom: { kind: 'question', text: question } });
}
