// Conversation: a message in a clip's thread refines that clip ("make it blue", "slower", "again"), or, when it
// opens with one of continuation.ts's words ("continue", "keep going", "extend it", "and then the ball rolls away"),
// extends it as the Extend button does (extend.ts: from the thread's last clip's last frame, with the rest of the
// message as the prompt); and a question (Q&A) becomes a prompt that is animated with the rewrite shown. All end in
// the same admission as /animate.
import type { JobSurface, Requester } from './adapter.ts';
import type { AnimateExtra, AnimateFn, AnimateResult } from './api.ts';
import { refinePrompt, type ConversationStore, type ThreadState } from './conversation.ts';
import { parseContinuation, type Continuation } from './continuation.ts';
import { InvalidOptionsError, toBotError, UnknownJobError } from './errors.ts';
import { extend } from './extend.ts';
import type { IdSource } from './ids.ts';
import type { ChatJobs, JobRecord } from './jobs.ts';
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

const FORGOTTEN_THREAD = 'The bot no longer remembers this thread’s clip. Start a new /animate.';

/** How far back lastClipOf walks past failed jobs (a thread's chain; parents are older, so it cannot loop). */
const MAX_CLIP_HOPS = 16;

/**
 * The thread's last clip: its latest job, or, when that one failed or was cancelled (it has no clip to continue),
 * the job it was made from, and so on back. Undefined when the book forgot the latest job.
 */
export function lastClipOf(jobs: ChatJobs, jobId: string): JobRecord | undefined {
  let job = jobs.get(jobId);
  for (let hops = 0; job?.parentId && (job.state === 'failed' || job.state === 'cancelled') && hops < MAX_CLIP_HOPS; hops++) {
    const parent = jobs.get(job.parentId);
    if (!parent) break;
    job = parent;
  }
  return job;
}

/**
 * `job` as Extend sees it, with a spawn that answers `surface`: a follow-up's reply surface is where its
 * continuation goes (extend() otherwise spawns a message beside the job's own, as the button does). Only `spawn` is
 * read from it; everything else is the job's own surface's.
 */
function spawningOnto(job: JobRecord, surface: JobSurface): JobRecord {
  const onto: JobSurface = Object.create(job.surface, { spawn: { value: async () => surface } });
  return { ...job, surface: onto };
}

/**
 * A continuation: Extend from the thread's last clip. Its refusals (no last frame, not finished yet: the button's
 * own sentences) go on `surface` when there is one, as admission's do, and are thrown for the adapter otherwise.
 */
async function continueThread(ctx: FollowUpContext, state: ThreadState, continuation: Continuation, requester: Requester, surface?: JobSurface): Promise<AnimateResult> {
  try {
    const last = lastClipOf(ctx.jobs, state.lastJobId);
    if (!last) throw new UnknownJobError(FORGOTTEN_THREAD);
    const result = await extend(ctx, surface ? spawningOnto(last, surface) : last, requester, continuation.prompt);
    return { ...result, refinement: continuation.summary };
  } catch (err) {
    if (!surface) throw err;
    return refuse(surface, toBotError(err), ctx.logger);
  }
}

/**
 * A message in `threadId`: undefined when the thread has no clip (the message is not for us); otherwise the
 * continued or refined job, on `surface` or on one spawned from the thread's latest job.
 */
export async function followUp(ctx: FollowUpContext, threadId: string, text: string, requester: Requester, surface?: JobSurface): Promise<AnimateResult | undefined> {
  const state = ctx.conversations.get(threadId);
  if (!state) return undefined;
  const continuation = parseContinuation(text);
  if (continuation) return continueThread(ctx, state, continuation, requester, surface);
  const { refinement, options } = await refinedOptions(ctx, state, text);
  let target = surface;
  if (!target) {
    const last = ctx.jobs.get(state.lastJobId);
    if (!last) throw new UnknownJobError(FORGOTTEN_THREAD);
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
