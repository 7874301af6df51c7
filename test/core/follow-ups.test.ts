// Follow-ups, Q&A, the model catalog and the thread book alone (follow-ups.ts, model-catalog.ts, threads.ts): a real
// ConversationStore and ChatJobs, a ModelCatalog over an in-memory ListModels, a recorder for the core's `animate`.
import { describe, expect, it } from 'vitest';
import type { Requester } from '../../bots/core/adapter.ts';
import { ManualClock } from '../../bots/core/clock.ts';
import { ConversationStore } from '../../bots/core/conversation.ts';
import { BotErrorCode, type BotError } from '../../bots/core/errors.ts';
import { ask, followUp, type FollowUpContext } from '../../bots/core/follow-ups.ts';
import { createIdSource } from '../../bots/core/ids.ts';
import { ChatJobs } from '../../bots/core/jobs.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { JobThreads } from '../../bots/core/threads.ts';
import { handMadeJob, memoryCatalog, recordingAnimate, tinyModel } from '../helpers/core-parts.ts';
import { RecordingSurface } from '../helpers/recording-surface.ts';

const ann: Requester = { platform: 'plugin', userId: 'ann', channelId: 'c' };

function setup() {
  const clock = new ManualClock();
  const conversations = new ConversationStore();
  const jobs = new ChatJobs();
  const threads = new JobThreads(conversations, clock);
  const { catalog } = memoryCatalog(clock, { defaultModel: 'tiny', models: [tinyModel('tiny', { minFps: 4, maxFps: 12 })] });
  const { animate, calls } = recordingAnimate();
  const ctx: FollowUpContext = { conversations, jobs, catalog, ids: createIdSource(clock, () => 0), logger: silentLogger, animate };
  const surface = new RecordingSurface(undefined, 't1');
  const { job } = handMadeJob('j1', ann, surface, { prompt: 'a red ball bouncing', seed: 9, variants: 1 }, 'delivered');
  jobs.add(job, clock.now());
  return { ctx, calls, threads, job, surface, conversations, clock };
}

describe('JobThreads', () => {
  it('records a job as its thread’s latest once, and fills in the seed and fps the daemon used when delivered', () => {
    const { threads, job, conversations } = setup();
    threads.record(job, undefined);
    expect(conversations.size).toBe(0);
    threads.record(job, 't1');
    expect(conversations.get('t1')).toMatchObject({ lastJobId: 'j1', prompt: 'a red ball bouncing' });
    threads.delivered(job, 't1', { seed: 77, fps: 10 });
    expect(conversations.get('t1')).toMatchObject({ seed: 77, fps: 10 });
    // A later follow-up recorded in the thread stays the latest: recording j1 again changes nothing.
    conversations.record('t1', 'j2', job.options, 5);
    threads.record(job, 't1');
    expect(conversations.get('t1')?.lastJobId).toBe('j2');
  });
});

describe('followUp', () => {
  it('is not for us in a thread without a clip', async () => {
    const { ctx, calls } = setup();
    expect(await followUp(ctx, 'elsewhere', 'make it blue', ann)).toBeUndefined();
    expect(calls).toHaveLength(0);
  });

  it('refines the thread’s clip with the used seed, chaining from its latest job on a spawned surface', async () => {
    const { ctx, calls, threads, job, surface } = setup();
    threads.delivered(job, 't1', { seed: 31, fps: 8 });
    const result = await followUp(ctx, 't1', 'make it blue', ann);
    expect(result?.refinement).toBeTruthy();
    expect(surface.spawnedWith[0]).toMatchObject({ reason: 'follow-up', requester: ann });
    expect(calls[0]!.surface).toBe(surface.children[0]);
    expect(calls[0]!.options.prompt).toContain('blue');
    expect(calls[0]!.options).toMatchObject({ seed: 31, variants: 1 });
    expect(calls[0]!.extra).toEqual({ threadId: 't1', parentId: 'j1', derivedFrom: { kind: 'refinement', text: 'make it blue', previousPrompt: 'a red ball bouncing' } });
  });

  it('"slower" lowers the fps within the model’s range; "again" draws a new seed', async () => {
    const { ctx, calls, threads, job } = setup();
    threads.delivered(job, 't1', { seed: 31, fps: 8 });
    const surface = new RecordingSurface();
    await followUp(ctx, 't1', 'slower', ann, surface);
    expect(calls[0]!.surface).toBe(surface);
    const fps = calls[0]!.options.fps;
    expect(fps).toBeGreaterThanOrEqual(4);
    expect(fps).toBeLessThan(8);
    await followUp(ctx, 't1', 'again', ann, surface);
    expect(calls[1]!.options.seed).toBe(0);
  });

  it('a thread whose job the bot forgot is UNKNOWN_JOB when there is no surface to answer on', async () => {
    const { ctx, conversations } = setup();
    conversations.record('t2', 'gone', { prompt: 'a cat', variants: 1 }, 0);
    const error = await followUp(ctx, 't2', 'make it blue', ann).then(() => undefined, (e: BotError) => e);
    expect(error?.code).toBe(BotErrorCode.UnknownJob);
  });
});

describe('ask', () => {
  it('animates the question rewritten as a prompt, with the question in derivedFrom', async () => {
    const { ctx, calls } = setup();
    const surface = new RecordingSurface();
    await ask(ctx, surface, 'how does a ball bounce?', ann, { requestId: 'q1' });
    expect(calls[0]!.options).toEqual({ prompt: 'a ball bouncing', variants: 1 });
    expect(calls[0]!.extra).toEqual({ requestId: 'q1', derivedFrom: { kind: 'question', text: 'how does a ball bounce?' } });
  });

  it('an empty question is refused on the surface and nothing starts', async () => {
    const { ctx, calls } = setup();
    const surface = new RecordingSurface();
    const result = await ask(ctx, surface, ' ?? ', ann);
    expect(result.error?.code).toBe(BotErrorCode.InvalidOptions);
    expect(surface.failure?.code).toBe(BotErrorCode.InvalidOptions);
    expect(calls).toHaveLength(0);
  });
});

describe('ModelCatalog', () => {
  it('reuses a ListModels answer for cacheMs, then asks again', async () => {
    const clock = new ManualClock();
    const { catalog, calls } = memoryCatalog(clock, { defaultModel: 'tiny', models: [tinyModel()] }, 1000);
    await catalog.list();
    await catalog.find(undefined);
    expect(calls.listModels).toBe(1);
    await clock.advance(1000);
    await catalog.list();
    expect(calls.listModels).toBe(2);
  });

  it('finds the default or a named model; an unknown name is UNKNOWN_MODEL naming the models; unreachable is undefined', async () => {
    const clock = new ManualClock();
    const { catalog } = memoryCatalog(clock, { defaultModel: 'b', models: [tinyModel('a'), tinyModel('b')] });
    expect((await catalog.find(undefined))?.name).toBe('b');
    expect((await catalog.find('a'))?.name).toBe('a');
    const error = await catalog.find('zz').then(() => undefined, (e: BotError) => e);
    expect(error?.code).toBe(BotErrorCode.UnknownModel);
    expect(error?.message).toContain('Models: a, b.');
    const down = memoryCatalog(clock, undefined);
    expect(await down.catalog.list()).toBeUndefined();
    expect(await down.catalog.find('zz')).toBeUndefined();
    expect(down.calls.listModels).toBe(2);
  });
});
