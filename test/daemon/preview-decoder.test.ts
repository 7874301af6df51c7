// The embedded model's preview decoder (models/tiny-world/preview/model.onnx, training/train_preview.py) on the real
// denoiser's x0 estimates: the package loader picks it over the latent→RGB factors, its previews are 17 frames at half
// the clip's size, and a late preview looks like the final clip (PSNR, frames compared at the same time, the preview
// nearest-enlarged to the clip's size as the daemon sends it). Previews are taken after every step here (no pacing:
// previewMinIntervalMs 0) so that the steps compared are fixed.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelPackage, type ModelPackage } from '../../inference/model/package.ts';
import { ModelSessions } from '../../inference/model/sessions.ts';
import { TextToVideo, type TextToVideoParams } from '../../inference/pipeline/text-to-video.ts';
import type { RgbFrames } from '../../inference/pipeline/frames.ts';
import { OnnxWorkerClient } from '../../inference/worker/onnx-worker-client.ts';
import { DEFAULT_MODEL, DEFAULT_MODELS_DIR } from '../../inference/server/daemon.ts';
import { previewPsnr } from '../../tools/bench/previews.ts';

let worker: OnnxWorkerClient;
let pkg: ModelPackage;
let sessions: ModelSessions;
let runtime: TextToVideo;

beforeAll(async () => {
  worker = new OnnxWorkerClient({ executionProvider: 'cpu', intraOpThreads: 1 });
  pkg = await readModelPackage(path.resolve(DEFAULT_MODELS_DIR, DEFAULT_MODEL));
  sessions = await ModelSessions.load(pkg, worker);
  runtime = new TextToVideo(sessions);
}, 120_000);

afterAll(async () => {
  await sessions?.dispose();
  await worker?.close();
});

describe('tiny-world preview decoder', () => {
  it('is in the package and is what previews come from', () => {
    expect(pkg.onnx.preview_decoder).toMatch(/preview[\\/]model\.onnx$/);
  });

  for (const prompt of ['a red ball bouncing on the grass', 'a pink heart grows in the sky']) {
    it(`"${prompt}": previews of 17 frames at 64x64; from step 15 of 20 on at least 20 dB PSNR against the final clip`, async () => {
      const d = pkg.config.defaults;
      const params: TextToVideoParams = {
        prompt, negativePrompt: '', seed: 7, steps: 20, guidanceScale: d.guidance_scale, frames: d.frames, width: d.width, height: d.height,
        scheduler: pkg.defaultScheduler, previewEvery: 1, previewMinIntervalMs: 0, previewMaxSide: 128,
      };
      const previews = new Map<number, RgbFrames>();
      const result = await runtime.run(params, { onPreview: (step, _total, frames) => previews.set(step, frames) });
      expect([...previews.keys()]).toEqual(Array.from({ length: 19 }, (_, i) => i + 1));
      const first = previews.get(1)!;
      expect([first.width, first.height, first.frames.length]).toEqual([64, 64, 17]);
      const clip = result.video;
      const psnr = (step: number) => previewPsnr(previews.get(step)!, clip);
      console.log(`"${prompt}": preview vs final clip, step 1 ${psnr(1).toFixed(2)} dB, 5 ${psnr(5).toFixed(2)}, 10 ${psnr(10).toFixed(2)}, 15 ${psnr(15).toFixed(2)}, 18 ${psnr(18).toFixed(2)}, 19 ${psnr(19).toFixed(2)} dB`);
      // Measured 21.9 / 22.1 dB (grass: fine texture, the hardest at half size) and 29.3 / 29.5 dB (sky); a margin below.
      expect(psnr(15)).toBeGreaterThanOrEqual(20);
      expect(psnr(19)).toBeGreaterThanOrEqual(21);
      // It sharpens: the late preview is closer to the clip than the first.
      expect(psnr(19)).toBeGreaterThan(psnr(1) + 3);
    }, 120_000);
  }
});
