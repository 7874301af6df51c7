// "continue" in a thread (bots/core/continuation.ts + follow-ups.ts): a follow-up that opens with one of the
// continuation words extends the thread's last clip as the Extend button does, and every other follow-up still
// refines. Three layers: the wording alone (pure), followUp over hand-made jobs in a real ChatJobs with a recorder
// standing in for `animate` (as test/core/extend.test.ts), and the bot core against a real daemon with the
// Wan2.2-TI2V-shaped fixture (it has a vae_encoder, so it takes the last frame), checked by what was sent over gRPC
// and by the continuation's first frame, decoded from the MP4.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClipInfo, Requester } from '../../bots/core/adapter.ts';
import { runAction, type ActionContext } from '../../bots/core/actions.ts';
import { createBotCore, type BotCore } from '../../bots/core/bot.ts';
import { ManualClock } from '../../bots/core/clock.ts';
import { CONTINUE_OPENINGS, parseContinuation } from '../../bots/core/continuation.ts';
import { ConversationStore } from '../../bots/core/conversation.ts';
import { BotErrorCode, type BotError } from '../../bots/core/errors.ts';
import { followUp, type FollowUpContext } from '../../bots/core/follow-ups.ts';
import { createIdSource } from '../../bots/core/ids.ts';
import { ChatJobs, type JobState } from '../../bots/core/jobs.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { decodeFrames } from '../../inference/media/index.ts';
import { buildWanFixturePackage } from '../fixtures/wan-fixture.ts';
import { handMadeJob, memoryCatalog, recordingAnimate, tinyModel } from '../helpers/core-parts.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { RecordingSurface } from '../helpers/recording-surface.ts';
import { pngImage, recordingConnection, type RecordingConnection } from '../helpers/test-images.ts';

const ann: Requester = { platform: 'plugin', userId: 'ann', displayName: 'Ann', channelId: 'c' };

describe('parseContinuation: the words', () => {
  // [message, the continuation's prompt (undefined: the same prompt)]
  const continuations: Array<[string, string | undefined]> = [
    ['continue', undefined],
    ['Continue.', undefined],
    ['continue it', undefined],
    ['keep going', undefined],
    ['please keep going!', undefined],
    ['extend it', undefined],
    ['Extend', undefined],
    ['extend the clip please', undefined],
    ['carry on', undefined],
    ['and then', undefined],
    ['and then the ball rolls away', 'the ball rolls away'],
    ['And then it rolls away.', 'it rolls away'],
    ['continue with the ball rolling away', 'the ball rolling away'],
    ['extend it so that the ball stops', 'the ball stops'],
    ['keep going, the ball rolls left', 'the ball rolls left'],
    ['ok, continue: a blue star spins', 'a blue star spins'],
    ['can you extend it with the box falling', 'the box falling'],
    ['continue — the heart grows', 'the heart grows'],
  ];
  it.each(continuations)('%j continues, prompt %j', (text, prompt) => {
    const c = parseContinuation(text);
    expect(c, text).toBeDefined();
    expect(c!.prompt).toBe(prompt);
    expect(c!.summary).toContain('continued from the last frame');
  });

  // Refinements, and words that only look like an opening.
  const refinements = ['make it blue', 'slower', 'again', 'and a star', 'then the ball rolls', 'continued', 'extending the ball', 'a continuous ring', 'add a star and then a box'];
  it.each(refinements)('%j is no continuation', (text) => {
    expect(parseContinuation(text)).toBeUndefined();
  });

  it('documents its openings in one list', () => {
    expect([...CONTINUE_OPENINGS]).toEqual(['and then', 'keep going', 'carry on', 'continue', 'extend']);
    for (const opening of CONTINUE_OPENINGS) expect(parseContinuation(opening), opening).toBeDefined();
  });
});

describe('followUp: continue or refine', () => {
  const lastFrame = pngImage(16, 16, () => [9, 99, 199]);
  const result = (frame: Buffer | undefined) => ({ jobId: 'j1', prompt: 'a red ball bouncing', seed: 9, fps: 8, ...(frame ? { lastFrame: frame } : {}) }) as unknown as ClipInfo;

  function setup(state: JobState = 'delivered', frame: Buffer | null = lastFrame) {
    const clock = new ManualClock();
    const conversations = new ConversationStore();
    const jobs = new ChatJobs();
    const { catalog } = memoryCatalog(clock, { defaultModel: 'tiny', models: [tinyModel('tiny')] });
    const { animate, calls } = recordingAnimate();
    const ids = createIdSource(clock, () => 0.5);
    const ctx: FollowUpContext = { conversations, jobs, catalog, ids, logger: silentLogger, animate };
    const own = new RecordingSurface(undefined, 't1');
    const options = { prompt: 'a red ball bouncing', seed: 9, steps: 3, model: 'wan', variants: 1 };
    const { job } = handMadeJob('j1', ann, own, options, state, { seed: 9, result: result(frame ?? undefined) });
    jobs.add(job, clock.now());
    conversations.record('t1', 'j1', options, 0);
    conversations.completed('t1', 'j1', { seed: 9, fps: 8 });
    const actions: ActionContext = { jobs, connection: { cancel: async () => ({ cancelled: false, state: '' }) } as ActionContext['connection'], clock, logger: silentLogger, ids, variationsCount: undefined, animate };
    return { ctx, calls, own, jobs, actions, conversations };
  }

  it.each([
    ['continue', 'a red ball bouncing'],
    ['keep going', 'a red ball bouncing'],
    ['extend it', 'a red ball bouncing'],
    ['and then the ball rolls away', 'the ball rolls away'],
  ])('%j starts an Extend from the last frame on the reply surface, prompt %j', async (text, prompt) => {
    const { ctx, calls, own } = setup();
    const reply = new RecordingSurface(undefined, 't1');
    const res = await followUp(ctx, 't1', text, ann, reply);
    expect(calls).toHaveLength(1);
    const { options, extra, surface, requester } = calls[0]!;
    expect(options.image?.bytes.equals(lastFrame)).toBe(true);
    expect(options.image?.mimeType).toBe('image/png');
    expect(options).toMatchObject({ prompt, steps: 3, model: 'wan', variants: 1 });
    expect(options.seed, 'a new seed, as the button draws').not.toBe(9);
    expect(extra).toMatchObject({ parentId: 'j1', threadId: 't1' });
    expect(requester).toBe(ann);
    // The reply surface, wrapped with Extend's wording of an image refusal: its calls land on the reply.
    expect(own.spawnedWith).toHaveLength(0);
    await surface.showQueued(2, 1);
    expect(reply.kinds()).toEqual(['queued']);
    expect(res?.refinement).toContain('continued from the last frame');
  });

  it('without a reply surface, spawns beside the clip as the Extend button does', async () => {
    const { ctx, calls, own } = setup();
    await followUp(ctx, 't1', 'continue', ann);
    expect(own.spawnedWith[0]).toMatchObject({ reason: 'extend', label: 'Extended: a red ball bouncing', requester: ann });
    expect(own.children[0]!.kinds()).toEqual([]);
    expect(calls[0]!.options.image?.bytes.equals(lastFrame)).toBe(true);
  });

  it('"make it blue" still refines: the same seed, no image, the prompt changed', async () => {
    const { ctx, calls } = setup();
    const reply = new RecordingSurface(undefined, 't1');
    const res = await followUp(ctx, 't1', 'make it blue', ann, reply);
    expect(calls[0]!.surface).toBe(reply);
    expect(calls[0]!.options).toMatchObject({ prompt: 'a blue ball bouncing', seed: 9 });
    expect(calls[0]!.options.image).toBeUndefined();
    expect(calls[0]!.extra).toMatchObject({ derivedFrom: { kind: 'refinement', text: 'make it blue' } });
    expect(res?.refinement).toBe('colour: blue');
  });

  it('a last clip without a last frame answers with the Extend button’s own sentence, and nothing starts', async () => {
    const { ctx, calls, actions } = setup('delivered', null);
    const button = await runAction(actions, 'j1', { kind: 'extend' }, ann).then(() => undefined, (e: BotError) => e);
    expect(button?.code).toBe(BotErrorCode.InvalidState);
    const reply = new RecordingSurface(undefined, 't1');
    const res = await followUp(ctx, 't1', 'keep going', ann, reply);
    expect(reply.failure?.message).toBe(button!.message);
    expect(reply.failure?.code).toBe(BotErrorCode.InvalidState);
    expect(res).toMatchObject({ jobs: [], error: { code: BotErrorCode.InvalidState } });
    // With no reply surface the same error is thrown for the adapter to show.
    const thrown = await followUp(ctx, 't1', 'continue', ann).then(() => undefined, (e: BotError) => e);
    expect(thrown?.message).toBe(button!.message);
    expect(calls).toHaveLength(0);
    console.log(`no last frame: "${button!.message}"`);
  });

  it('a clip still running is told it is not finished yet, as the button says', async () => {
    const { ctx, calls } = setup('running', null);
    const reply = new RecordingSurface(undefined, 't1');
    await followUp(ctx, 't1', 'extend it', ann, reply);
    expect(reply.failure?.message).toBe('This clip is not finished yet; Extend continues from its last frame once it is done.');
    expect(calls).toHaveLength(0);
  });

  it('when the thread’s latest job failed, continues from the clip it was made from', async () => {
    const { ctx, calls, jobs, conversations, own } = setup();
    const failed = handMadeJob('j2', ann, own, { prompt: 'a purple ball bouncing', variants: 1 }, 'failed', { parentId: 'j1' }).job;
    jobs.add(failed, 1);
    conversations.record('t1', 'j2', failed.options, 1);
    await followUp(ctx, 't1', 'continue', ann, new RecordingSurface(undefined, 't1'));
    expect(calls[0]!.options.image?.bytes.equals(lastFrame)).toBe(true);
    expect(calls[0]!.extra?.parentId).toBe('j1');
  });

  it('a thread whose clip the bot forgot is UNKNOWN_JOB, on the reply surface', async () => {
    const { ctx, conversations } = setup();
    conversations.record('t2', 'gone', { prompt: 'a cat', variants: 1 }, 0);
    const reply = new RecordingSurface(undefined, 't2');
    await followUp(ctx, 't2', 'continue', ann, reply);
    expect(reply.failure?.code).toBe(BotErrorCode.UnknownJob);
  });
});

describe('"continue" through the bot core and a real daemon', () => {
  let wanDir: string;
  let fx: FixtureDaemon;
  let recorder: RecordingConnection;
  let core: BotCore;

  beforeAll(async () => {
    wanDir = await mkdtemp(path.join(os.tmpdir(), 'animate-continue-wan-'));
    await buildWanFixturePackage(path.join(wanDir, 'wan'), { name: 'wan' });
    fx = await startFixtureDaemon({ daemon: { modelDirs: [path.join(wanDir, 'wan')] } });
    recorder = recordingConnection(fx.client);
    core = createBotCore({ connection: recorder, logger: silentLogger, limits: { perUserConcurrent: 8, perUserPerWindow: 0 } });
  }, 120_000);
  afterAll(async () => {
    await core?.close();
    await fx?.close();
    if (wanDir) await rm(wanDir, { recursive: true, force: true });
  });

  const meanColour = (frame: Uint8Array) => {
    const sums = [0, 0, 0];
    for (let i = 0; i < frame.length; i++) sums[i % 3]! += frame[i]!;
    return sums.map((s) => s / (frame.length / 3));
  };

  it('"and then …" continues from the clip’s last frame with the new prompt; "make it blue" then refines the continuation', async () => {
    // A green first frame, so the clip's last frame is a colour the text alone would not give.
    const start = pngImage(64, 64, () => [40, 200, 60]);
    const first = new RecordingSurface(undefined, 'thread-c');
    const t0 = performance.now();
    const made = await core.animate(first, ann, { prompt: 'a red ball rolls', seed: 21, steps: 2, model: 'wan', variants: 1, image: { bytes: start, mimeType: 'image/png', name: 'start.png' } }, { threadId: 'thread-c' });
    expect((await made.finished).map((o) => o.status)).toEqual(['delivered']);
    const lastFrame = first.clip!.info.lastFrame!;
    expect(lastFrame.length, 'the daemon sent the last frame').toBeGreaterThan(0);

    const reply = new RecordingSurface(undefined, 'thread-c');
    const before = recorder.sent.length;
    const continued = await core.followUp('thread-c', 'and then the ball rolls away', ann, reply);
    expect(continued?.refinement).toBe('continued from the last frame: "the ball rolls away"');
    expect((await continued!.finished).map((o) => o.status)).toEqual(['delivered']);
    const sent = recorder.sent.slice(before);
    expect(sent).toHaveLength(1);
    expect(Buffer.from(sent[0]!.image as Uint8Array).equals(lastFrame)).toBe(true);
    expect(sent[0]).toMatchObject({ prompt: 'the ball rolls away', model: 'wan', imageMimeType: 'image/png' });
    expect(sent[0]!.seed).not.toBe(21);
    expect(reply.clip!.info.prompt).toBe('the ball rolls away');

    // The continuation starts where the clip ended: the encoder's block means of the last frame, within the MP4's error.
    const previous = await decodeFrames(first.clip!.clip.data, 'mp4');
    const next = await decodeFrames(reply.clip!.clip.data, 'mp4');
    const end = meanColour(previous.frames.at(-1)!);
    const begin = meanColour(next.frames[0]!);
    console.log(`continue: clip ended ${end.map((v) => v.toFixed(1)).join(',')}, continuation began ${begin.map((v) => v.toFixed(1)).join(',')}; ${(performance.now() - t0).toFixed(0)} ms for both`);
    for (let c = 0; c < 3; c++) expect(Math.abs(begin[c]! - end[c]!)).toBeLessThan(8);

    // The thread's latest clip is now the continuation: a refinement starts from its prompt, seed and first frame.
    const refined = await core.followUp('thread-c', 'make it blue', ann, new RecordingSurface(undefined, 'thread-c'));
    expect((await refined!.finished).map((o) => o.status)).toEqual(['delivered']);
    const refinedSent = recorder.sent.at(-1)!;
    expect(refinedSent.prompt).toBe('the blue ball rolls away');
    expect(refinedSent.seed).toBe(reply.clip!.info.seed);
    expect(Buffer.from(refinedSent.image as Uint8Array).equals(lastFrame)).toBe(true);
  }, 180_000);

});
