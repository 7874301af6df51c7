// The buttons alone (bots/core/actions.ts): hand-made jobs in a real ChatJobs, a RecordingSurface to spawn from,
// an in-memory Cancel that answers as the daemon would, and a recorder standing in for the core's `animate`.
import { describe, expect, it } from 'vitest';
import type { Requester } from '../../bots/core/adapter.ts';
import { DEFAULT_VARIATIONS_COUNT, runAction, type ActionContext } from '../../bots/core/actions.ts';
import { ManualClock } from '../../bots/core/clock.ts';
import { BotErrorCode, type BotError } from '../../bots/core/errors.ts';
import { createIdSource } from '../../bots/core/ids.ts';
import { ChatJobs, type JobState } from '../../bots/core/jobs.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { MAX_SEED } from '../../bots/core/options.ts';
import { handMadeJob, recordingAnimate } from '../helpers/core-parts.ts';
import { RecordingSurface } from '../helpers/recording-surface.ts';

const ann: Requester = { platform: 'plugin', userId: 'ann', displayName: 'Ann', channelId: 'c' };
const bob: Requester = { platform: 'plugin', userId: 'bob', displayName: 'Bob', channelId: 'c' };
const mod: Requester = { platform: 'plugin', userId: 'mo', displayName: 'Mo', channelId: 'c', isModerator: true };

type CancelAnswer = { cancelled: boolean; state: string } | Error;

function setup(state: JobState = 'running', cancelAnswer: CancelAnswer = { cancelled: true, state: 'running' }, variationsCount?: number) {
  const clock = new ManualClock();
  const jobs = new ChatJobs();
  const surface = new RecordingSurface(undefined, 'thread-1');
  const { job, settle } = handMadeJob('j1', ann, surface, { prompt: 'a red ball', seed: 5, steps: 3, variants: 1 }, state, { seed: 5 });
  jobs.add(job, clock.now());
  const cancels: Array<[string, string | undefined]> = [];
  const cancelledFor: Array<string | undefined> = [];
  const connection = {
    cancel: async (id: string, reason?: string, requester?: { userId?: string }) => {
      cancels.push([id, reason]);
      cancelledFor.push(requester?.userId);
      if (cancelAnswer instanceof Error) throw cancelAnswer;
      return { cancelled: cancelAnswer.cancelled, state: cancelAnswer.state };
    },
  } as ActionContext['connection'];
  const { animate, calls } = recordingAnimate();
  const ctx: ActionContext = { jobs, connection, clock, logger: silentLogger, ids: createIdSource(clock, () => 0.25), variationsCount, animate };
  return { ctx, job, settle, surface, cancels, cancelledFor, calls };
}

const codeOf = async (p: Promise<unknown>) => (await p.then(() => undefined, (e: BotError) => e))?.code;

describe('cancel', () => {
  it('the asker or a moderator may cancel; someone else gets NOT_ALLOWED and nothing is sent', async () => {
    const { ctx, cancels, cancelledFor, job } = setup();
    expect(await codeOf(runAction(ctx, 'j1', { kind: 'cancel' }, bob))).toBe(BotErrorCode.NotAllowed);
    expect(cancels).toEqual([]);
    await runAction(ctx, 'j1', { kind: 'cancel' }, mod);
    expect(cancels).toEqual([['j1', 'cancelled by Mo']]);
    // The daemon checks the Cancel's requester against the job's: a moderator's Cancel names the job's own.
    expect(cancelledFor).toEqual(['ann']);
    expect(job.cancelledBy).toBe('Mo');
    // The daemon took the Cancel: the call is left to end with CANCELLED.
    expect(job.abort.signal.aborted).toBe(false);
  });

  it('aborts the call itself when the daemon does not know the job yet or the RPC fails', async () => {
    const unknown = setup('accepted', { cancelled: false, state: 'unknown' });
    await runAction(unknown.ctx, 'j1', { kind: 'cancel' }, ann);
    expect(unknown.job.abort.signal.aborted).toBe(true);
    const failed = setup('queued', new Error('daemon gone'));
    await runAction(failed.ctx, 'j1', { kind: 'cancel' }, ann);
    expect(failed.job.abort.signal.aborted).toBe(true);
    const finished = setup('running', { cancelled: false, state: 'finished' });
    await runAction(finished.ctx, 'j1', { kind: 'cancel' }, ann);
    expect(finished.job.abort.signal.aborted).toBe(false);
  });

  it('a finished clip cannot be cancelled (INVALID_STATE); an unknown id is UNKNOWN_JOB', async () => {
    const { ctx } = setup('delivered');
    expect(await codeOf(runAction(ctx, 'j1', { kind: 'cancel' }, ann))).toBe(BotErrorCode.InvalidState);
    expect(await codeOf(runAction(ctx, 'nope', { kind: 'cancel' }, ann))).toBe(BotErrorCode.UnknownJob);
  });

  it('resolves with the job’s outcome once it has ended', async () => {
    const { ctx, settle } = setup();
    const result = await runAction(ctx, 'j1', { kind: 'cancel' }, ann);
    settle({ jobId: 'j1', status: 'cancelled', by: 'Ann' });
    expect(await result.finished).toEqual([{ jobId: 'j1', status: 'cancelled', by: 'Ann' }]);
  });
});

describe('reroll, variations, refine', () => {
  it('reroll: same settings, one clip, a new random seed, on a surface spawned for the actor', async () => {
    const { ctx, calls, surface } = setup('delivered');
    await runAction(ctx, 'j1', { kind: 'reroll' }, bob);
    expect(surface.spawnedWith).toEqual([{ reason: 'reroll', label: 'Reroll of "a red ball"', requester: bob }]);
    expect(calls[0]!.surface).toBe(surface.children[0]);
    expect(calls[0]!.requester).toBe(bob);
    expect(calls[0]!.options).toEqual({ prompt: 'a red ball', steps: 3, variants: 1, seed: Math.floor(0.25 * (MAX_SEED + 1)) });
    expect(calls[0]!.extra).toEqual({ parentId: 'j1' });
  });

  it('variations: the seeds after the one the daemon used, DEFAULT_VARIATIONS_COUNT unless the core or button says', async () => {
    const { ctx, calls, job } = setup('delivered');
    job.result = { seed: 41 } as NonNullable<typeof job.result>;
    await runAction(ctx, 'j1', { kind: 'variations' }, ann);
    expect(calls[0]!.options).toMatchObject({ variants: DEFAULT_VARIATIONS_COUNT, seed: 42 });
    await runAction(ctx, 'j1', { kind: 'variations', count: 9 }, ann);
    expect(calls[1]!.options.variants).toBe(4);
    const configured = setup('delivered', undefined, 2);
    await runAction(configured.ctx, 'j1', { kind: 'variations' }, ann);
    expect(configured.calls[0]!.options).toMatchObject({ variants: 2, seed: 6 });
  });

  it('refine: the new prompt with the same seed, in the spawned surface’s thread; an empty prompt is refused', async () => {
    const { ctx, calls } = setup('delivered');
    expect(await codeOf(runAction(ctx, 'j1', { kind: 'refine', prompt: '   ' }, ann))).toBe(BotErrorCode.InvalidOptions);
    await runAction(ctx, 'j1', { kind: 'refine', prompt: ' a blue ball ' }, ann);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.options).toEqual({ prompt: 'a blue ball', seed: 5, steps: 3, variants: 1 });
    expect(calls[0]!.extra).toEqual({ parentId: 'j1', derivedFrom: { kind: 'refinement', text: 'a blue ball', previousPrompt: 'a red ball' }, threadId: 'thread-1' });
  });

  it('a surface that cannot be spawned becomes a BotError for the actor and nothing starts', async () => {
    const { ctx, calls, surface } = setup('delivered');
    surface.spawn = async () => {
      throw new Error('missing access');
    };
    const error = await runAction(ctx, 'j1', { kind: 'reroll' }, ann).then(() => undefined, (e: BotError) => e);
    expect(error?.message).toBe('Could not post a new message for this clip here. (missing access)');
    expect(error?.code).toBe(BotErrorCode.GenerationFailed);
    expect(calls).toHaveLength(0);
  });
});
