// The denoising loop checked to the number against the fixture's closed forms: text encoding, guidance
// (cond and uncond in one batch), the flow-matching Euler schedule, latent de-normalisation and decoding.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildFixturePackage, type FixturePackage } from '../fixtures/fixture-model.ts';
import { readModelPackage } from '../../inference/model/package.ts';
import { ModelSessions } from '../../inference/model/sessions.ts';
import { TextToVideo, type TextToVideoParams } from '../../inference/pipeline/text-to-video.ts';
import { OnnxWorkerClient } from '../../inference/worker/onnx-worker-client.ts';
import { gaussianNoise } from '../../inference/pipeline/rng.ts';
import { decodedToFrames, framesToDecoded } from '../../inference/pipeline/frames.ts';

let dir: string;
let worker: OnnxWorkerClient;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'animate-math-'));
  worker = new OnnxWorkerClient({ executionProvider: 'cpu', intraOpThreads: 1 });
});
afterAll(async () => {
  await worker.close();
  await rm(dir, { recursive: true, force: true });
});

/** Independent reference: diffusers' FlowMatchEuler sigmas with shift, Euler updates, CFG, decode. */
function expectedVideo(fx: FixturePackage, p: TextToVideoParams): Uint8Array[] {
  const o = fx.options;
  const shape = { channels: o.latentChannels, frames: 1 + (p.frames - 1) / o.temporalFactor, height: p.height / o.spatialFactor, width: p.width / o.spatialFactor };
  const n = shape.channels * shape.frames * shape.height * shape.width;
  const shift = (o.scheduler as { shift?: number }).shift ?? 1;
  const N = 1000;
  const sigmas: number[] = [];
  for (let i = 0; i < p.steps; i++) {
    const t = p.steps === 1 ? N : N + (i * (1 - N)) / (p.steps - 1); // linspace(N·1, N·(1/N), steps)
    const s = t / N;
    sigmas.push((shift * s) / (1 + (shift - 1) * s));
  }
  sigmas.push(0);
  const cond = fx.textEmbedding(p.prompt);
  const uncond = fx.textEmbedding(p.negativePrompt);
  let x = Float64Array.from(gaussianNoise(p.seed, n));
  for (let i = 0; i < p.steps; i++) {
    const xf = Float32Array.from(x);
    const t = sigmas[i]! * N;
    const vc = fx.velocity(xf, t, cond);
    const vu = fx.velocity(xf, t, uncond);
    x = x.map((xi, k) => {
      const v = p.guidanceScale === 1 ? vc[k]! : vu[k]! + p.guidanceScale * (vc[k]! - vu[k]!);
      return xi + (sigmas[i + 1]! - sigmas[i]!) * v;
    });
  }
  const mean = o.latentsMean;
  const std = o.latentsStd;
  const per = n / shape.channels;
  const z = Float32Array.from(x, (v, k) => v * std[Math.floor(k / per)]! + mean[Math.floor(k / per)]!);
  const rgb = fx.decode(z, shape);
  const frames = 1 + (shape.frames - 1) * o.temporalFactor;
  const H = p.height, W = p.width, plane = H * W;
  const out: Uint8Array[] = [];
  for (let f = 0; f < frames; f++) {
    const frame = new Uint8Array(plane * 3);
    for (let q = 0; q < plane; q++) for (let c = 0; c < 3; c++) frame[q * 3 + c] = Math.max(0, Math.min(255, Math.round((rgb[c * frames * plane + f * plane + q]! + 1) * 127.5)));
    out.push(frame);
  }
  return out;
}

function maxByteDiff(a: Uint8Array[], b: Uint8Array[]): number {
  let worst = 0;
  a.forEach((fa, f) => fa.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[f]![i]!)))));
  return worst;
}

const base: TextToVideoParams = {
  prompt: 'a red ball bounces at night', negativePrompt: '', seed: 3, steps: 4, guidanceScale: 3,
  frames: 5, width: 32, height: 24, scheduler: 'euler', previewEvery: 0, previewMaxSide: 64,
};

describe('denoising loop against closed forms', () => {
  const cases: Array<[string, Parameters<typeof buildFixturePackage>[1], Partial<TextToVideoParams>]> = [
    ['guidance 3, shift 1', {}, {}],
    ['no guidance (g = 1 skips the uncond batch)', {}, { guidanceScale: 1 }],
    ['negative prompt, guidance 2.5, shift 3, 7 steps', { scheduler: { _class_name: 'FlowMatchEulerDiscreteScheduler', num_train_timesteps: 1000, shift: 3 } }, { negativePrompt: 'blue cube', guidanceScale: 2.5, steps: 7 }],
    ['latent mean/std and 4× temporal decoding', { name: 'norm', temporalFactor: 4, latentsMean: [0.1, -0.2, 0.05, 0], latentsStd: [0.5, 2, 1, 1] }, { frames: 9 }],
  ];
  for (const [name, fixtureOptions, overrides] of cases) {
    it(name, async () => {
      const fx = await buildFixturePackage(path.join(dir, name.replace(/\W+/g, '-')), fixtureOptions);
      const sessions = await ModelSessions.load(await readModelPackage(fx.dir), worker);
      const runtime = new TextToVideo(sessions);
      const params = { ...base, ...overrides };
      const result = await runtime.run(params);
      const expected = expectedVideo(fx, params);
      expect(result.video.frames.length).toBe(expected.length);
      expect([result.video.width, result.video.height]).toEqual([params.width, params.height]);
      // float32 in the graph vs float64 here: at most one level of rounding.
      expect(maxByteDiff(result.video.frames, expected)).toBeLessThanOrEqual(1);
      // And the comparison is sharp: another guidance scale gives another video.
      const other = expectedVideo(fx, { ...params, guidanceScale: params.guidanceScale + 2 });
      expect(maxByteDiff(result.video.frames, other)).toBeGreaterThan(1);
      await sessions.dispose();
    });
  }

  it('calls the preview hook after the first step and then every N steps, with the x0 estimate', async () => {
    const fx = await buildFixturePackage(path.join(dir, 'preview'));
    const sessions = await ModelSessions.load(await readModelPackage(fx.dir), worker);
    const runtime = new TextToVideo(sessions);
    const seen: number[] = [];
    await runtime.run({ ...base, steps: 7, previewEvery: 3, previewMinIntervalMs: 0 }, { onPreview: (step) => seen.push(step) });
    expect(seen).toEqual([1, 3, 6]);
    await sessions.dispose();
  });

  it('step-level batching: two jobs of the same shape share denoiser calls and get the same clips as alone', async () => {
    const fx = await buildFixturePackage(path.join(dir, 'batch'));
    const sessions = await ModelSessions.load(await readModelPackage(fx.dir), worker);
    const runtime = new TextToVideo(sessions);
    const alone = await runtime.run({ ...base, seed: 1 });
    const runsBefore = runtime.batchStats.runs;
    const [a, b] = await Promise.all([runtime.run({ ...base, seed: 1 }), runtime.run({ ...base, seed: 2, prompt: 'a blue cube' })]);
    expect(runtime.batchStats.largestBatch).toBe(4);
    expect(runtime.batchStats.runs - runsBefore).toBeLessThan(2 * base.steps);
    expect(maxByteDiff(a.video.frames, alone.video.frames)).toBeLessThanOrEqual(1);
    expect(maxByteDiff(b.video.frames, expectedVideo(fx, { ...base, seed: 2, prompt: 'a blue cube' }))).toBeLessThanOrEqual(1);
    await sessions.dispose();
  });
});

describe('seeded noise', () => {
  it('is reproducible and standard normal', () => {
    const a = gaussianNoise(42, 20000);
    expect(gaussianNoise(42, 20000)).toEqual(a);
    expect(gaussianNoise(43, 10)).not.toEqual(a.slice(0, 10));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });
});

describe('frames and decoder tensors', () => {
  it('framesToDecoded puts each RGB byte at [channel, frame, pixel] in [-1, 1], and decodedToFrames undoes it', () => {
    const width = 3, height = 2, count = 2;
    const frames = Array.from({ length: count }, (_, f) => Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + f * 101) % 256));
    const data = framesToDecoded({ width, height, frames });
    expect(data.length).toBe(3 * count * width * height);
    // frame 1, pixel 4 (x 1, y 1), green: byte (13 * 37 + 101) % 256 = 70
    expect(data[(1 * count + 1) * width * height + 4]).toBeCloseTo(70 / 127.5 - 1, 6);
    expect(decodedToFrames(data, count, height, width).frames).toEqual(frames);
  });
});
