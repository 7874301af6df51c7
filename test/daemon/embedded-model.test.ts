// The committed embedded model (models/tiny-world) served by the real daemon: a short generation per prompt, decoded
// from the MP4 and checked with the same analytic adherence checks as `npm run eval`. The committed model follows colour,
// scene and motion (≥ 89% held-out) but not yet shape (see models/tiny-world/README.md), so shape is not asserted.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, disposeSession, runSession } from '../../inference/backend/onnx.ts';
import { judgeClip } from '../../tools/eval/checks.ts';
import { generateClip } from '../../tools/eval/generate.ts';
import { loadWorld } from '../../tools/eval/world.ts';
import { readModelPackage } from '../../inference/model/package.ts';
import { decodedToFrames, framesToDecoded } from '../../inference/pipeline/frames.ts';
import { DEFAULT_MODEL, DEFAULT_MODELS_DIR, startDaemon, type RunningDaemon } from '../../inference/server/daemon.ts';

const world = loadWorld();
let daemon: RunningDaemon;

beforeAll(async () => {
  daemon = await startDaemon({ listen: '127.0.0.1:0', threads: 2 });
}, 60_000);

afterAll(async () => {
  await daemon?.close();
});

describe('embedded model tiny-world through the daemon', () => {
  // One generation per (prompt, seed): the ball clip is checked for its motion and for its shape.
  const generated = new Map<string, ReturnType<typeof generateClip>>();
  const clipFor = (prompt: string, seed: number): ReturnType<typeof generateClip> => {
    const key = `${seed}:${prompt}`;
    if (!generated.has(key)) generated.set(key, generateClip(daemon.address, { prompt, seed }));
    return generated.get(key)!;
  };

  const cases = [
    { prompt: 'a red ball moves right on the grass', seed: 11, colour: 'red', scene: 'grass', motion: 'right' },
    { prompt: 'a yellow star falls at night', seed: 12, colour: 'yellow', scene: 'night', motion: 'fall' },
    { prompt: 'a blue box bounces in the sky', seed: 5, colour: 'blue', scene: 'sky', motion: 'bounce' },
  ];

  // Shape is the model's weak point (45% held out, see the model card), but the shapes it does draw reliably (balls
  // 15/15, hearts 12/15 held out) must stay: a regression here means the decoder or the denoiser lost them.
  const shapes = [
    { prompt: 'a red ball moves right on the grass', seed: 11, shape: 'circle' },
    { prompt: 'a pink heart grows in the sky', seed: 4, shape: 'heart' },
  ];
  for (const c of shapes) {
    it(`draws the shape of "${c.prompt}"`, async () => {
      const verdict = judgeClip(world, await clipFor(c.prompt, c.seed));
      expect({ shape: verdict.shape, features: verdict.features }).toMatchObject({ shape: c.shape });
    }, 60_000);
  }

  for (const c of cases) {
    it(`follows "${c.prompt}" (colour, scene, motion, object present)`, async () => {
      const clip = await clipFor(c.prompt, c.seed);
      expect(clip.frames.length).toBe(17);
      expect([clip.width, clip.height]).toEqual([128, 128]);
      const verdict = judgeClip(world, clip);
      // The motion's features (centroid travel, area ratio, ...) are in the message when it fails.
      expect({ colour: verdict.colour, scene: verdict.scene, motion: verdict.motion, features: verdict.features }).toMatchObject({ colour: c.colour, scene: c.scene, motion: c.motion });
      expect(verdict.presence).toBeGreaterThanOrEqual(0.9);
    }, 60_000);
  }

  // Held-out combinations in held-out phrasings (training/world.json), as `npm run eval` runs them.
  for (const c of world.eval_cases.slice(0, 2)) {
    it(`follows the held-out "${c.prompt}" (${c.heldout_pair}): colour and scene`, async () => {
      const verdict = judgeClip(world, await generateClip(daemon.address, { prompt: c.prompt, seed: c.seed }));
      expect({ colour: verdict.colour, scene: verdict.scene }).toEqual({ colour: c.colour, scene: c.scene });
    }, 60_000);
  }

  // The package is also the checkpoint training resumes from (training/import_package.py), so it ships the encoder
  // its decoder was fit to: a clip the model drew, encoded and decoded again, must come back as the same clip, and its
  // latents must have the statistics the denoiser was trained on (model_index.json latents_mean/std).
  it('ships a vae_encoder that its vae_decoder inverts', async () => {
    const pkg = await readModelPackage(path.join(DEFAULT_MODELS_DIR, DEFAULT_MODEL));
    const { latents_mean: mean = [], latents_std: std = [] } = pkg.config;
    const clip = await clipFor('a red ball moves right on the grass', 11);
    const options = { executionProvider: 'cpu' as const, intraOpThreads: 2 };
    const encoder = await createSession(path.join(pkg.dir, 'vae_encoder', 'model.onnx'), options);
    const decoder = await createSession(pkg.onnx.vae_decoder, options);
    try {
      const video = framesToDecoded(clip);
      const { latent_sample: latents } = await runSession(encoder, { sample: { type: 'float32', dims: [1, 3, clip.frames.length, clip.height, clip.width], data: video } });
      expect(latents?.dims).toEqual([1, mean.length, 5, 16, 16]);
      const z = latents!.data as Float32Array;
      const perChannel = 5 * 16 * 16;
      for (let c = 0; c < mean.length; c++) {
        const normalised = z.subarray(c * perChannel, (c + 1) * perChannel).map((v) => (v - mean[c]!) / std[c]!);
        const m = normalised.reduce((a, v) => a + v, 0) / perChannel;
        // one clip, not the dataset: within the spread of a single clip's statistics, not exactly 0 and 1
        expect(Math.abs(m), `channel ${c} mean`).toBeLessThan(1.5);
        expect(Math.sqrt(normalised.reduce((a, v) => a + (v - m) ** 2, 0) / perChannel), `channel ${c} std`).toBeLessThan(2.5);
      }
      const { sample } = await runSession(decoder, { latent_sample: latents! });
      const decoded = sample!.data as Float32Array;
      const l1 = decoded.reduce((a, v, i) => a + Math.abs(v - video[i]!), 0) / decoded.length;
      expect(l1).toBeLessThan(0.05);
      const before = judgeClip(world, clip);
      const after = judgeClip(world, decodedToFrames(decoded, clip.frames.length, clip.height, clip.width));
      expect([after.colour, after.scene, after.motion, after.shape]).toEqual([before.colour, before.scene, before.motion, before.shape]);
    } finally {
      await disposeSession(encoder);
      await disposeSession(decoder);
    }
  }, 60_000);

  it('reports the words of a prompt it does not know', async () => {
    const clip = await generateClip(daemon.address, { prompt: 'a blue box bounces on a trampoline', seed: 3, steps: 4 });
    expect(clip.unknownWords).toEqual(['trampoline']);
  }, 60_000);
});
