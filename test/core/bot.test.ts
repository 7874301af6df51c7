// The bot core against a real daemon (real gRPC, onnxruntime, ffmpeg) with fixture models; the only stand-in is
// the recording JobSurface, which is the edge where a platform would be.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotCore, type BotCore } from '../../bots/core/bot.ts';
import { BotErrorCode } from '../../bots/core/errors.ts';
import { runJob } from '../../bots/core/job-runner.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { systemClock } from '../../bots/core/clock.ts';
import type { Requester } from '../../bots/core/adapter.ts';
import { probeClip } from '../../inference/media/index.ts';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { RecordingSurface, testAdapter } from '../helpers/recording-surface.ts';
import { startDaemon } from '../../inference/server/daemon.ts';
import { silentLogger as daemonSilent } from '../../inference/log.ts';

const alice: Requester = { platform: 'plugin', userId: 'alice', displayName: 'Alice', channelId: 'c1', serverId: 's1' };
const bob: Requester = { platform: 'plugin', userId: 'bob', displayName: 'Bob', channelId: 'c1', serverId: 's1' };
const mod: Requester = { platform: 'plugin', userId: 'mo', displayName: 'Mo', channelId: 'c1', serverId: 's1', isModerator: true };

let fx: FixtureDaemon;
let slowDir: string;
let core: BotCore;

beforeAll(async () => {
  // A second package whose denoiser burns time, so that jobs stay running long enough to cancel.
  slowDir = await mkdtemp(path.join(os.tmpdir(), 'animate-slow-'));
  await buildFixturePackage(path.join(slowDir, 'slow'), { name: 'slow', burnMs: 80 });
  fx = await startFixtureDaemon({ daemon: { modelDirs: [path.join(slowDir, 'slow')], concurrency: 2 } });
  core = createBotCore({ connection: fx.client, logger: silentLogger, limits: { perUserConcurrent: 8, perUserPerWindow: 0 } });
});
afterAll(async () => {
  await core?.close();
  await fx?.close();
  await rm(slowDir, { recursive: true, force: true });
});

describe('animate', () => {
  it('shows queue, progress and a preview, then delivers an MP4 with the settings used', async () => {
    const surface = new RecordingSurface();
    const result = await core.animate(surface, alice, { prompt: 'a red ball bounces', seed: 42, steps: 3, frames: 5, variants: 1 });
    expect(result.jobs).toHaveLength(1);
    const [outcome] = await result.finished;
    expect(outcome?.status).toBe('delivered');
    const kinds = surface.kinds();
    expect(kinds[0]).toBe('accepted');
    expect(kinds).toContain('queued');
    expect(kinds).toContain('progress');
    expect(kinds).toContain('preview');
    expect(kinds.at(-1)).toBe('clip');
    const clip = surface.clip!;
    expect(clip.clip.mimeType).toBe('video/mp4');
    expect(clip.clip.fileName).toBe('a-red-ball-bounces-seed42.mp4');
    expect(clip.info).toMatchObject({ prompt: 'a red ball bounces', seed: 42, steps: 3, frames: 5, fps: 8, width: 32, height: 32, model: 'fixture', jobId: result.jobs[0]!.id });
    const probe = await probeClip(clip.clip.data);
    expect(probe.codec).toBe('h264');
    expect(probe.frames).toBe(5);
    const preview = surface.events.find((e) => e.kind === 'preview');
    expect(preview?.kind === 'preview' && preview.image.mimeType).toBe('image/webp');
  });

  it('turns duration into frames with the model fps and runs variants with neighbouring seeds on spawned surfaces', async () => {
    const surface = new RecordingSurface();
    const result = await core.animate(surface, alice, { prompt: 'a blue cube', seed: 7, steps: 1, duration: 0.5, variants: 2 });
    const outcomes = await result.finished;
    expect(outcomes.map((o) => o.status)).toEqual(['delivered', 'delivered']);
    expect(surface.spawnedWith.map((s) => [s.reason, s.label])).toEqual([['variant', 'Variant 2 of 2']]);
    expect(surface.clip!.info.seed).toBe(7);
    expect(surface.clip!.info.frames).toBe(4); // 0.5 s × 8 fps = 4 = 1 + 3·1 with the fixture's temporal factor 1
    expect(surface.clip!.info.variant).toEqual({ index: 1, count: 2 });
    expect(surface.children[0]!.clip!.info.seed).toBe(8);
    expect(result.jobs[1]!.id).toBe(`${result.jobs[0]!.id}.v2`);
  });

  it('refuses before starting: content filter, model limits, unknown model, usage limits — each with a message', async () => {
    const filtered = new RecordingSurface();
    expect((await core.animate(filtered, alice, { prompt: 'lots of gore', variants: 1 })).jobs).toHaveLength(0);
    expect(filtered.kinds()).toEqual(['fail']);
    expect(filtered.failure?.code).toBe(BotErrorCode.ContentRefused);

    const tooMany = new RecordingSurface();
    await core.animate(tooMany, alice, { prompt: 'a ball', steps: 51, variants: 1 });
    expect(tooMany.failure?.message).toBe('steps must be a whole number from 1 to 50 for model fixture (got 51).');

    const unknownModel = new RecordingSurface();
    await core.animate(unknownModel, alice, { prompt: 'a ball', model: 'nope', variants: 1 });
    expect(unknownModel.failure?.code).toBe(BotErrorCode.UnknownModel);
    expect(unknownModel.failure?.message).toContain('fixture');

    const limited = createBotCore({ connection: fx.client, logger: silentLogger, limits: { perUserConcurrent: 1 } });
    const s = new RecordingSurface();
    await limited.animate(s, bob, { prompt: 'a ball', steps: 1, variants: 2 });
    expect(s.failure?.code).toBe(BotErrorCode.RateLimited);
    expect(s.failure?.message).toContain('at most 1 at once');
  });

  it("passes the daemon's INVALID_ARGUMENT message through unchanged", async () => {
    const surface = new RecordingSurface();
    const job = core.jobs.get('x');
    expect(job).toBeUndefined();
    const record = {
      id: 'core-test-invalid', requester: alice, options: { prompt: 'a ball', variants: 1 }, surface, createdAt: 0, state: 'accepted' as const,
      abort: new AbortController(), finished: Promise.resolve() as never,
    };
    const outcome = await runJob(record, { prompt: 'a ball', width: 1000, height: 32, requestId: record.id }, { connection: fx.client, clock: systemClock, logger: silentLogger });
    expect(outcome.status).toBe('failed');
    expect(surface.failure?.code).toBe(BotErrorCode.InvalidOptions);
    expect(surface.failure?.message).toMatch(/width/);
  });

  it('the same requestId never starts a second job', async () => {
    const a = new RecordingSurface();
    const b = new RecordingSurface();
    const first = await core.animate(a, alice, { prompt: 'a ball', steps: 1, variants: 1 }, { requestId: 'evt-123' });
    const second = await core.animate(b, alice, { prompt: 'a ball', steps: 1, variants: 1 }, { requestId: 'evt-123' });
    expect(second.duplicate).toBe(true);
    expect(second.jobs[0]).toBe(first.jobs[0]);
    await first.finished;
    expect(b.events).toHaveLength(0);
    expect(first.jobs[0]!.id).toBe('evt-123');
  });
});

describe('buttons', () => {
  it('cancel: only the requester or a moderator, then the surface says who cancelled', async () => {
    const surface = new RecordingSurface();
    const result = await core.animate(surface, alice, { prompt: 'a slow ball', model: 'slow', steps: 50, variants: 1 });
    const jobId = result.jobs[0]!.id;
    await surface.firstProgress();
    await expect(core.action(jobId, { kind: 'cancel' }, bob)).rejects.toMatchObject({ code: BotErrorCode.NotAllowed });
    await core.action(jobId, { kind: 'cancel' }, mod);
    const [outcome] = await result.finished;
    expect(outcome).toEqual({ jobId, status: 'cancelled', by: 'Mo' });
    expect(surface.kinds().at(-1)).toBe('cancelled');
    expect(surface.kinds().filter((k) => k === 'clip' || k === 'fail')).toEqual([]);
    await expect(core.action(jobId, { kind: 'cancel' }, alice)).rejects.toMatchObject({ code: BotErrorCode.InvalidState });
    await expect(core.action('no-such-job', { kind: 'cancel' }, alice)).rejects.toMatchObject({ code: BotErrorCode.UnknownJob });
  });

  it('reroll uses a new seed, variations the neighbouring seeds, refine a new prompt with the same seed', async () => {
    const surface = new RecordingSurface();
    const original = await core.animate(surface, alice, { prompt: 'a red ball', seed: 100, steps: 1, variants: 1 });
    await original.finished;
    const jobId = original.jobs[0]!.id;

    const reroll = await core.action(jobId, { kind: 'reroll' }, bob);
    await reroll.finished;
    const rerolled = surface.children[0]!;
    expect(surface.spawnedWith[0]).toMatchObject({ reason: 'reroll', requester: bob });
    expect(rerolled.clip!.info.prompt).toBe('a red ball');
    expect(rerolled.clip!.info.seed).not.toBe(100);

    const variations = await core.action(jobId, { kind: 'variations', count: 2 }, alice);
    await variations.finished;
    const v1 = surface.children[1]!;
    expect(v1.clip!.info.seed).toBe(101);
    expect(v1.children[0]!.clip!.info.seed).toBe(102);

    const refine = await core.action(jobId, { kind: 'refine', prompt: 'a green ball' }, alice);
    await refine.finished;
    const refined = surface.children[2]!;
    expect(refined.clip!.info).toMatchObject({ prompt: 'a green ball', seed: 100 });
    const accepted = refined.events[0];
    expect(accepted?.kind === 'accepted' && accepted.job.derivedFrom).toEqual({ kind: 'refinement', text: 'a green ball', previousPrompt: 'a red ball' });
  });
});

describe('conversation and Q&A', () => {
  it('a follow-up in the thread refines the accumulated prompt, keeps the seed and says which prompt it used', async () => {
    const surface = new RecordingSurface(testAdapter(), 'thread-1');
    await (await core.animate(surface, alice, { prompt: 'a red ball bouncing', seed: 5, steps: 1, variants: 1 })).finished;
    expect(await core.followUp('thread-unknown', 'make it blue', alice)).toBeUndefined();

    const first = await core.followUp('thread-1', 'make it blue', alice);
    expect(first?.refinement).toBe('colour: blue');
    await first!.finished;
    const blue = surface.children[0]!;
    expect(surface.spawnedWith[0]!.reason).toBe('follow-up');
    expect(blue.clip!.info).toMatchObject({ prompt: 'a blue ball bouncing', seed: 5 });

    const second = await core.followUp('thread-1', 'now at night', bob);
    await second!.finished;
    // Each follow-up opens its surface next to the thread's latest job.
    const night = blue.children[0]!;
    expect(night.clip!.info.prompt).toBe('a blue ball bouncing at night');
    const accepted = night.events[0];
    expect(accepted?.kind === 'accepted' && accepted.job).toMatchObject({ prompt: 'a blue ball bouncing at night', derivedFrom: { kind: 'refinement', text: 'now at night', previousPrompt: 'a blue ball bouncing' } });

    const slower = await core.followUp('thread-1', 'slower', alice);
    await slower!.finished;
    expect(night.children[0]!.clip!.info).toMatchObject({ prompt: 'a blue ball bouncing at night slowly', fps: 5 });
  });

  it('a thread the surface opens when the job is accepted (as Slack does) takes follow-ups before the clip is posted', async () => {
    // A reply can arrive the moment the clip shows, before the job's end is processed: by then the thread must be known.
    class LateThreadSurface extends RecordingSurface {
      knownWhenPosting: string | undefined;
      override async accepted(job: Parameters<RecordingSurface['accepted']>[0]) {
        this.threadId = 'thread-late';
        return super.accepted(job);
      }
      override async deliverClip(...args: Parameters<RecordingSurface['deliverClip']>) {
        this.knownWhenPosting = core.conversations.get('thread-late')?.prompt;
        return super.deliverClip(...args);
      }
    }
    const surface = new LateThreadSurface();
    await (await core.animate(surface, alice, { prompt: 'a green star spinning', seed: 3, steps: 1, variants: 1 })).finished;
    expect(surface.knownWhenPosting).toBe('a green star spinning');
  });

  it('a question becomes a prompt and is answered with a clip', async () => {
    const surface = new RecordingSurface();
    const result = await core.ask(surface, 'how does a ball bounce?', alice);
    await result.finished;
    expect(surface.clip!.info.prompt).toBe('a ball bouncing');
    const accepted = surface.events[0];
    expect(accepted?.kind === 'accepted' && accepted.job.derivedFrom).toEqual({ kind: 'question', text: 'how does a ball bounce?' });
  });
});

describe('failures end with a message', () => {
  it('a clip that cannot be posted ends in fail() with a message', async () => {
    const surface = new RecordingSurface();
    surface.failDelivery = new Error('upload refused');
    const [outcome] = await (await core.animate(surface, alice, { prompt: 'a ball', steps: 1, variants: 1 })).finished;
    expect(outcome?.status).toBe('failed');
    expect(surface.failure?.message).toContain('could not be posted here');
  });

  it('an unreachable daemon', async () => {
    const offline = createBotCore({ daemonAddress: '127.0.0.1:1', logger: silentLogger, deadlineMs: 20_000 });
    const surface = new RecordingSurface();
    const [outcome] = await (await offline.animate(surface, alice, { prompt: 'a ball', variants: 1 })).finished;
    expect(outcome?.status).toBe('failed');
    expect(surface.failure?.code).toBe(BotErrorCode.DaemonUnavailable);
    expect(surface.failure?.message).toContain('unreachable');
    await offline.close();
  });

  it('the daemon going away mid-job', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'animate-gone-'));
    await buildFixturePackage(path.join(dir, 'slow'), { name: 'slow', burnMs: 80 });
    const daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir: dir, logger: daemonSilent });
    const local = createBotCore({ daemonAddress: daemon.address, logger: silentLogger });
    const surface = new RecordingSurface();
    const result = await local.animate(surface, alice, { prompt: 'a ball', steps: 50, variants: 1 });
    await surface.firstProgress();
    await daemon.close({ graceMs: 0 });
    const [outcome] = await result.finished;
    expect(outcome?.status).toBe('failed');
    expect(surface.kinds().at(-1)).toBe('fail');
    expect(surface.failure?.message).toMatch(/shut down|unreachable/);
    await local.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('close() stops active jobs and tells their surfaces', async () => {
    const local = createBotCore({ connection: fx.client, logger: silentLogger });
    const surface = new RecordingSurface();
    const result = await local.animate(surface, alice, { prompt: 'a ball', model: 'slow', steps: 50, variants: 1 });
    await surface.firstProgress();
    await local.close();
    const [outcome] = await result.finished;
    expect(outcome?.status).toBe('failed');
    expect(surface.failure?.message).toContain('shutting down');
  });
});
