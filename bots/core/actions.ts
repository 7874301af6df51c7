// The buttons under a clip: cancel (the person who asked or a moderator; Cancel RPC, else abort the call),
// reroll (same settings, a new random seed), variations (several clips on the seeds after this one), refine (a
// new prompt, the same seed) and extend (extend.ts: a new clip from this one's last frame, on the same path). Each
// new clip goes on a surface spawned from the job's own. Refusals are thrown as BotErrors for the adapter to show to
// whoever pressed.
import type { AnimatorConnection } from '../../shared/rpc/client.ts';
import type { Requester } from './adapter.ts';
import type { AnimateFn, AnimateResult, JobAction } from './api.ts';
import type { Clock } from './clock.ts';
import { InvalidOptionsError, InvalidStateError, NotAllowedError, UnknownJobError } from './errors.ts';
import { seedAfter, type IdSource } from './ids.ts';
import { isActive, type ChatJobs, type JobRecord } from './jobs.ts';
import type { Logger } from './logger.ts';
import { MAX_VARIANTS } from './options.ts';
import { toWireRequester } from './request.ts';
import { extend } from './extend.ts';
import { spawnFrom } from './spawn.ts';

export { spawnFrom } from './spawn.ts';

/** How many clips the Variations button makes when neither the core nor the button says. */
export const DEFAULT_VARIATIONS_COUNT = 3;

export interface ActionContext {
  jobs: ChatJobs;
  /** Only Cancel is used. */
  connection: Pick<AnimatorConnection, 'cancel'>;
  clock: Clock;
  logger: Logger;
  ids: IdSource;
  /** Default DEFAULT_VARIATIONS_COUNT. */
  variationsCount: number | undefined;
  animate: AnimateFn;
}

/** The seed a job ran with (the daemon's when known, else the one requested). */
const seedOf = (job: JobRecord): number | undefined => job.result?.seed ?? job.seed;

export async function runAction(ctx: ActionContext, jobId: string, action: JobAction, actor: Requester): Promise<AnimateResult> {
  const job = ctx.jobs.get(jobId, ctx.clock.now());
  if (!job) throw new UnknownJobError('The bot no longer remembers that clip (it may have restarted). Start a new /animate.');
  switch (action.kind) {
    case 'cancel':
      return cancel(ctx, job, actor);
    case 'reroll':
      return reroll(ctx, job, actor);
    case 'variations':
      return variations(ctx, job, actor, action.count);
    case 'refine':
      return refine(ctx, job, actor, action.prompt);
    case 'extend':
      return extend(ctx, job, actor, action.prompt);
  }
}

/** Cancels a queued or running job; resolves at once, with `finished` settling when the job has ended. */
export async function cancel(ctx: ActionContext, job: JobRecord, actor: Requester): Promise<AnimateResult> {
  if (actor.userId !== job.requester.userId && !actor.isModerator)
    throw new NotAllowedError(`Only ${job.requester.displayName ?? 'the person who asked'} or a moderator can cancel this clip.`);
  if (!isActive(job)) throw new InvalidStateError(`This clip is already ${job.state === 'delivered' ? 'done' : job.state}; there is nothing to cancel.`);
  job.cancelledBy = actor.displayName ?? actor.userId;
  try {
    // The job's own requester, even when a moderator presses: the daemon refuses a Cancel from anyone else.
    const res = await ctx.connection.cancel(job.id, `cancelled by ${job.cancelledBy}`, toWireRequester(job.requester));
    // Not yet known to the daemon (still connecting) or the RPC did nothing: stop our side of the call.
    if (!res.cancelled && res.state !== 'finished') job.abort.abort();
  } catch (err) {
    ctx.logger.warn(`cancel RPC for ${job.id} failed; aborting the call`, err);
    job.abort.abort();
  }
  return { jobs: [], finished: job.finished.then((o) => [o]) };
}

export async function reroll(ctx: ActionContext, job: JobRecord, actor: Requester): Promise<AnimateResult> {
  const surface = await spawnFrom(job, 'reroll', `Reroll of "${job.options.prompt}"`, actor);
  return ctx.animate(surface, actor, { ...job.options, variants: 1, seed: ctx.ids.seed() }, { parentId: job.id });
}

/** `count` clips (1..MAX_VARIANTS) on the seeds after this job's. */
export async function variations(ctx: ActionContext, job: JobRecord, actor: Requester, count?: number): Promise<AnimateResult> {
  const n = Math.min(MAX_VARIANTS, Math.max(1, count ?? ctx.variationsCount ?? DEFAULT_VARIATIONS_COUNT));
  const base = seedOf(job) ?? ctx.ids.seed();
  const surface = await spawnFrom(job, 'variations', `Variations of "${job.options.prompt}"`, actor);
  return ctx.animate(surface, actor, { ...job.options, variants: n, seed: seedAfter(base, 1) }, { parentId: job.id });
}

/** The same settings and seed with a new prompt; the new clip's surface thread (if any) carries the conversation. */
export async function refine(ctx: ActionContext, job: JobRecord, actor: Requester, text: string): Promise<AnimateResult> {
  const prompt = text.trim();
  if (!prompt) throw new InvalidOptionsError('The refined prompt is empty: describe what to animate.', 'prompt');
  const seed = seedOf(job);
  const surface = await spawnFrom(job, 'refine', `Refined: ${prompt}`, actor);
  return ctx.animate(surface, actor, { ...job.options, prompt, variants: 1, ...(seed === undefined ? {} : { seed }) }, {
    parentId: job.id,
    derivedFrom: { kind: 'refinement', text: prompt, previousPrompt: job.options.prompt },
    ...(surface.threadId ? { threadId: surface.threadId } : {}),
  });
}

