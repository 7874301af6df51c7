// Extend (bots/core/extend.ts) and the image budget of the job book (bots/core/jobs.ts) alone: hand-made jobs in a
// real ChatJobs, a RecordingSurface to spawn from and a recorder standing in for the core's `animate`. The
// end-to-end paths (a real daemon's last frame, each front-end's button) are in test/{discord,slack,playground}.
import { describe, expect, it } from 'vitest';
import type { ClipInfo, Requester } from '../../bots/core/adapter.ts';
import { runAction, type ActionContext } from '../../bots/core/actions.ts';
import { ManualClock } from '../../bots/core/clock.ts';
import { BotErrorCode, InvalidOptionsError, type BotError } from '../../bots/core/errors.ts';
import { extendFailure } from '../../bots/core/extend.ts';
import { createIdSource } from '../../bots/core/ids.ts';
import { ChatJobs, type JobState } from '../../bots/core/jobs.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { handMadeJob, recordingAnimate } from '../helpers/core-parts.ts';
import { RecordingSurface } from '../helpers/recording-surface.ts';
import { pngImage } from '../helpers/test-images.ts';

const ann: Requester = { platform: 'plugin', userId: 'ann', displayName: 'Ann', channelId: 'c' };
const bob: Requester = { platform: 'plugin', userId: 'bob', displayName: 'Bob', channelId: 'c' };
const lastFrame = pngImage(16, 16, () => [9, 9, 9]);
const result = (frame: Buffer | undefined) => ({ jobId: 'j1', prompt: 'a red ball', seed: 5, fps: 8, ...(frame ? { lastFrame: frame } : {}) }) as unknown as ClipInfo;

function setup(state: JobState, frame: Buffer | undefined) {
  const clock = new ManualClock();
  const jobs = new ChatJobs();
  const surface = new RecordingSurface(undefined, 'thread-1');
  const { job } = handMadeJob('j1', ann, surface, { prompt: 'a red ball', seed: 5, steps: 3, model: 'wan', variants: 1 }, state, { seed: 5, result: result(frame) });
  jobs.add(job, clock.now());
  const { animate, calls } = recordingAnimate();
  const ctx: ActionContext = { jobs, connection: { cancel: async () => ({ cancelled: false, state: '' }) } as ActionContext['connection'], clock, logger: silentLogger, ids: createIdSource(clock, () => 0.25), variationsCount: undefined, animate };
  return { ctx, calls };
}

describe('Extend', () => {
  it('starts the next clip from the last frame, same settings and prompt, a new seed, in the same thread', async () => {
    const { ctx, calls } = setup('delivered', lastFrame);
    await runAction(ctx, 'j1', { kind: 'extend' }, bob);
    expect(calls).toHaveLength(1);
    const { options, extra, requester } = calls[0]!;
    expect(options.image?.bytes.equals(lastFrame)).toBe(true);
    expect(options.image?.mimeType).toBe('image/png');
    expect(options).toMatchObject({ prompt: 'a red ball', steps: 3, model: 'wan', variants: 1 });
    expect(options.seed).not.toBe(5);
    expect(extra).toMatchObject({ parentId: 'j1', threadId: 'thread-1' });
    expect(requester).toBe(bob);
  });

  it('takes a new prompt when one is given', async () => {
    const { ctx, calls } = setup('delivered', lastFrame);
    await runAction(ctx, 'j1', { kind: 'extend', prompt: '  the ball stops  ' }, ann);
    expect(calls[0]!.options.prompt).toBe('the ball stops');
  });

  it('refuses a clip without a last frame, or one not finished, saying why', async () => {
    const none = setup('delivered', undefined);
    await expect(runAction(none.ctx, 'j1', { kind: 'extend' }, ann)).rejects.toMatchObject({ code: BotErrorCode.InvalidState, message: expect.stringContaining('no last frame') });
    const running = setup('running', undefined);
    await expect(runAction(running.ctx, 'j1', { kind: 'extend' }, ann)).rejects.toMatchObject({ message: expect.stringContaining('not finished yet') });
    expect(none.calls).toHaveLength(0);
  });

  it('rewords the daemon’s image refusal for the person who pressed Extend; other errors pass unchanged', () => {
    const daemon = new InvalidOptionsError('image: model "tiny" cannot start a clip from an image (its package has no vae_encoder/model.onnx); send the request without an image, or choose a model that takes one');
    expect(extendFailure(daemon).message).toBe('Extend needs a model that can start a clip from an image, and "tiny" cannot (it has no image encoder). Reroll or refine this clip instead, or make it with a model that takes images.');
    expect(extendFailure(new InvalidOptionsError('image: is 5000×5000 pixels; at most 4096×4096 allowed')).message).toBe("This clip's last frame could not be used to extend it (is 5000×5000 pixels; at most 4096×4096 allowed).");
    const other: BotError = new InvalidOptionsError('steps must be a whole number from 1 to 20');
    expect(extendFailure(other)).toBe(other);
  });
});

describe('the job book’s image budget', () => {
  it('forgets the oldest finished jobs holding images past maxImageBytes, never a running one', () => {
    const jobs = new ChatJobs({ maxImageBytes: 2500 });
    const surface = new RecordingSurface();
    const image = { bytes: Buffer.alloc(1000), mimeType: 'image/png' };
    const add = (id: string, state: JobState) => jobs.add(handMadeJob(id, ann, surface, { prompt: 'p', variants: 1, image }, state, { finishedAt: 0 }).job, 0);
    add('running-1', 'running');
    add('done-1', 'delivered');
    jobs.add(handMadeJob('plain', ann, surface, { prompt: 'p', variants: 1 }, 'delivered', { finishedAt: 0 }).job, 0);
    expect([jobs.get('running-1'), jobs.get('done-1'), jobs.get('plain')].every(Boolean)).toBe(true);
    add('done-2', 'delivered'); // 3000 bytes held: the oldest finished one with an image goes
    expect(jobs.get('done-1')).toBeUndefined();
    expect(jobs.get('running-1')).toBeDefined();
    expect(jobs.get('done-2')).toBeDefined();
    // A job holding no image is not what the budget is about.
    jobs.add(handMadeJob('plain-2', ann, surface, { prompt: 'p', variants: 1 }, 'delivered').job, 0);
    expect(jobs.get('plain')).toBeDefined();
  });
});
