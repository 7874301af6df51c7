// Previews paced by time (issue #23): the first right after step 1, then at least preview_min_interval_ms apart, on
// multiples of every_n_steps, none after the last step. Checked with an injected clock, never a timed assertion:
// the pacer alone, then the real denoising loop on the fixture package, whose clock moves only when a step ends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { readModelPackage } from '../../inference/model/package.ts';
import { ModelSessions } from '../../inference/model/sessions.ts';
import { TextToVideo, type TextToVideoParams } from '../../inference/pipeline/text-to-video.ts';
import { DEFAULT_PREVIEW_MIN_INTERVAL_MS, PreviewPacer } from '../../inference/pipeline/preview-pacer.ts';
import { OnnxWorkerClient } from '../../inference/worker/onnx-worker-client.ts';
import { collect, startFixtureDaemon } from '../helpers/fixture-daemon.ts';

/** Steps 1..steps, the clock at `msPerStep × step` when step `step` ends: the steps the pacer previews. */
function paced(steps: number, every: number, msPerStep: number, minIntervalMs?: number): number[] {
  let now = 0;
  const pacer = new PreviewPacer({ steps, every, minIntervalMs, now: () => now });
  const seen: number[] = [];
  for (let done = 1; done <= steps; done++) {
    now = done * msPerStep;
    if (pacer.due(done)) seen.push(done);
  }
  return seen;
}

describe('PreviewPacer', () => {
  it('defaults to 250 ms between previews', () => {
    expect(DEFAULT_PREVIEW_MIN_INTERVAL_MS).toBe(250);
    // 100 ms steps: step 1 (t=100), then the first step ≥ 250 ms later: 4 (t=400), 7, 10, 13, 16, 19; never step 20.
    expect(paced(20, 1, 100)).toEqual([1, 4, 7, 10, 13, 16, 19]);
  });

  it('keeps every_n_steps as an extra cap: only its multiples after the first', () => {
    // 16 would leave step 18 only 200 ms later: the preview waits for 18, the last one allowed.
    expect(paced(20, 2, 100)).toEqual([1, 4, 8, 12, 18]);
    expect(paced(7, 3, 1, 0)).toEqual([1, 3, 6]);
    expect(paced(20, 5, 10, 0)).toEqual([1, 5, 10, 15]);
  });

  it('slow steps preview after every allowed step; fast ones seldom, the last as late as allowed', () => {
    expect(paced(6, 1, 1000)).toEqual([1, 2, 3, 4, 5]);
    // Step 51 is due, but step 99 is only 240 ms away: the second preview waits for it.
    expect(paced(100, 1, 5)).toEqual([1, 99]);
  });

  it('none for a one-step clip or with previews off', () => {
    expect(paced(1, 1, 100)).toEqual([]);
    expect(paced(20, 0, 100)).toEqual([]);
  });

  it('refuses a negative or non-finite interval with a coded error naming it', () => {
    expect(() => new PreviewPacer({ steps: 4, every: 1, minIntervalMs: -1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'preview_min_interval_ms: -1 is not allowed; allowed: a finite number of milliseconds ≥ 0' }),
    );
    expect(() => new PreviewPacer({ steps: 4, every: 1, minIntervalMs: Number.NaN })).toThrow(/preview_min_interval_ms: NaN/);
  });
});

describe('the denoising loop paces its previews by the injected clock', () => {
  let dir: string;
  let worker: OnnxWorkerClient;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'animate-pacing-'));
    worker = new OnnxWorkerClient({ executionProvider: 'cpu', intraOpThreads: 1 });
  });
  afterAll(async () => {
    await worker.close();
    await rm(dir, { recursive: true, force: true });
  });

  const base: TextToVideoParams = {
    prompt: 'a red ball bounces at night', negativePrompt: '', seed: 3, steps: 12, guidanceScale: 3,
    frames: 5, width: 32, height: 24, scheduler: 'euler', previewEvery: 1, previewMaxSide: 64,
  };

  it('previews at the steps the clock allows, and fewer with a longer interval', async () => {
    const fx = await buildFixturePackage(path.join(dir, 'pkg'));
    const sessions = await ModelSessions.load(await readModelPackage(fx.dir), worker);
    const runtime = new TextToVideo(sessions);
    let now = 0;
    const seen: number[] = [];
    const sizes: string[] = [];
    // Each finished step moves the clock 120 ms: previews at 1 (t=120), 4 (t=480: 360 ≥ 250; 3 is only 240), 7, and
    // then 11, not 10: step 11, the last allowed, is only 120 ms after 10.
    await runtime.run(base, {
      now: () => now,
      onStep: () => { now += 120; },
      onPreview: (step, total, frames) => {
        seen.push(step);
        sizes.push(`${total}:${frames.width}x${frames.height}x${frames.frames.length}`);
      },
    });
    console.log(`previews at steps ${seen.join(', ')} (${sizes[0]})`);
    expect(seen).toEqual([1, 4, 7, 11]);
    expect(new Set(sizes).size).toBe(1);
    const fast: number[] = [];
    await runtime.run({ ...base, previewMinIntervalMs: 1000 }, { now: () => now, onStep: () => { now += 120; }, onPreview: (s) => fast.push(s) });
    expect(fast).toEqual([1, 11]);
    await sessions.dispose();
  });
});

describe("the daemon's previewIntervalMs (ANIMATE_PREVIEW_INTERVAL_MS) reaches the loop", () => {
  // The two ends need no clock. A minute lets only the first preview through, whatever a step costs. 0 lets every
  // step after which one is allowed have one (1..11 of 12, none after the last); the daemon keeps one preview encode
  // running and only the newest waiting, and the first encode also starts the encoder's worker thread (about a
  // second here), so each step is made slow (100 ms of burn) and the check is at least 4 of the 11, against exactly 1.
  it.each([
    [0, (steps: number[]) => expect(steps.length).toBeGreaterThanOrEqual(4)],
    [60_000, (steps: number[]) => expect(steps).toEqual([1])],
  ])('previewIntervalMs %i', async (previewIntervalMs, check) => {
    const fx = await startFixtureDaemon({ fixture: { burnMs: 100 }, daemon: { previewIntervalMs } });
    try {
      const events = await collect(fx.client.generate({ prompt: 'a red ball', seed: 2, steps: 12, preview: { everyNSteps: 1 }, requester: { userId: 'p', platform: 'PLAYGROUND' } }));
      const steps = events.filter((e) => e.preview).map((e) => e.preview!.step);
      console.log(`previewIntervalMs ${previewIntervalMs}: previews after steps ${steps.join(', ')} of 12`);
      expect(steps[0]).toBe(1);
      expect(steps.every((s) => s >= 1 && s <= 11)).toBe(true);
      check(steps);
      expect(events.at(-1)?.done).toBeTruthy();
    } finally {
      await fx.close();
    }
  });
});
