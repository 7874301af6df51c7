// The VAE decode in spatial tiles (inference/pipeline/tiled-decode.ts, the package's `decoder_tiling`): the tile
// arithmetic, the blend in closed form (a decoder that paints each tile one value gives the ramp's weighted means),
// and the real pipeline on the Wan2.2-TI2V-shaped fixture, whose decoder is local in space (nearest upsampling), so a
// tiled decode must give the whole decode's frames exactly, in more decoder runs of smaller tiles.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeInTiles, tileStarts } from '../../inference/pipeline/tiled-decode.ts';
import { buildWanFixturePackage } from '../fixtures/wan-fixture.ts';
import { readModelPackage } from '../../inference/model/package.ts';
import { ModelSessions } from '../../inference/model/sessions.ts';
import { TextToVideo } from '../../inference/pipeline/text-to-video.ts';
import { OnnxWorkerClient } from '../../inference/worker/onnx-worker-client.ts';

describe('tile starts', () => {
  it('every tile − overlap cells, the last one ending at the side; one tile when it fits', () => {
    expect(tileStarts(10, { tile: 4, overlap: 1 })).toEqual([0, 3, 6]);
    expect(tileStarts(11, { tile: 4, overlap: 1 })).toEqual([0, 3, 6, 7]);
    expect(tileStarts(4, { tile: 4, overlap: 1 })).toEqual([0]);
    expect(tileStarts(3, { tile: 4, overlap: 1 })).toEqual([0]);
    expect(tileStarts(5, { tile: 4, overlap: 2 })).toEqual([0, 1]);
    // Wan2.2's 1280×704 at 16 px a cell: 80×44 cells; diffusers' 256-px tiles with 64 px shared are 16 and 4 cells.
    expect(tileStarts(80, { tile: 16, overlap: 4 })).toEqual([0, 12, 24, 36, 48, 60, 64]);
  });
});

describe('the blend', () => {
  it('a decoder that paints tile k the value k: 1 inside, the ramp across each shared edge, nothing at the border', async () => {
    // 1 channel, 1 frame, 1×6 cells, spatial factor 2, tiles of 4 cells sharing 2: tiles start at 0 and 2.
    const latent = new Float32Array(6);
    let k = 0;
    const out = await decodeInTiles(latent, [1, 1, 1, 1, 6], 2, { tile: 4, overlap: 2 }, async (_tile, dims) => {
      k++;
      const [, , f, h, w] = dims;
      return { data: new Float32Array(3 * f * h * 2 * w * 2).fill(k), dims: [1, 3, f, h * 2, w * 2] };
    });
    expect(k).toBe(2);
    expect(out.dims).toEqual([1, 3, 1, 2, 12]);
    // Pixels 0..7 from tile 1, 4..11 from tile 2; the ramp is 2 cells × 2 px = 4 px. In 4..7, tile 1's weight is
    // (8 − p − 0.5)/4 and tile 2's (p − 4 + 0.5)/4: their mean of 1 and 2 is 1 + w2/(w1 + w2) = 1 + (p − 3.5)/4.
    const row = Array.from(out.data.subarray(0, 12));
    const expected = Array.from({ length: 12 }, (_, p) => (p < 4 ? 1 : p >= 8 ? 2 : 1 + (p - 3.5) / 4));
    row.forEach((v, p) => expect(v, `pixel ${p}`).toBeCloseTo(expected[p]!, 6));
    // The same in every channel and in the second pixel row.
    for (const c of [1, 2]) expect(Array.from(out.data.subarray(c * 24 + 12, c * 24 + 24))).toEqual(row);
  });

  it('a decoder that gives a tile of the wrong size is an error naming both sizes', async () => {
    await expect(
      decodeInTiles(new Float32Array(8), [1, 1, 1, 2, 4], 2, { tile: 2, overlap: 0 }, async () => ({ data: new Float32Array(3 * 2 * 2), dims: [1, 3, 1, 2, 2] })),
    ).rejects.toThrow(/tile of \[1, 3, 1, 2, 2\] for a latent tile of 2×2; expected \[1, 3, T, 4, 4\]/);
  });
});

describe('the pipeline with decoder_tiling (Wan2.2-TI2V-shaped fixture, real onnxruntime)', () => {
  let dir: string;
  let worker: OnnxWorkerClient;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'animate-tiles-'));
    worker = new OnnxWorkerClient({ executionProvider: 'cpu', intraOpThreads: 1 });
  });
  afterAll(async () => {
    await worker.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function clip(name: string, animate: Record<string, unknown>, previews = false) {
    const fx = await buildWanFixturePackage(path.join(dir, name), { name, io: 'float32', animate });
    const sessions = await ModelSessions.load(await readModelPackage(fx.dir), worker);
    let decoderRuns = 0;
    const run = sessions.run.bind(sessions);
    sessions.run = (component, feeds) => {
      if (component === 'vae_decoder') decoderRuns++;
      return run(component, feeds);
    };
    try {
      let previewsSeen = 0;
      const result = await new TextToVideo(sessions, { previewMinIntervalMs: 0 }).run(
        {
          prompt: 'a red ball bounces on the grass', negativePrompt: '', seed: 7, steps: 3, guidanceScale: 3,
          frames: 9, width: 128, height: 96, scheduler: 'euler', previewEvery: previews ? 1 : 0, previewMaxSide: 64,
        },
        previews ? { onPreview: () => void previewsSeen++ } : {},
      );
      return { frames: result.video.frames, decoderRuns, previewsSeen };
    } finally {
      await sessions.dispose();
    }
  }

  it('tiles of 3 cells sharing 1 give the whole decode exactly, in 12 decoder runs instead of 1', async () => {
    // 128×96 at 16 px a cell: 8×6 cells; tiles of 3 sharing 1: columns start 0, 2, 4, 5 and rows 0, 2, 3.
    const whole = await clip('whole', {});
    const tiled = await clip('tiled', { decoder_tiling: { tile: 3, overlap: 1 } });
    expect(whole.decoderRuns).toBe(1);
    expect(tiled.decoderRuns).toBe(4 * 3);
    expect(tiled.frames.length).toBe(9);
    let worst = 0;
    tiled.frames.forEach((f, i) => f.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - whole.frames[i]![j]!)))));
    console.log(`tiled decode vs whole: ${tiled.decoderRuns} runs, largest difference ${worst} (of 255)`);
    expect(worst).toBe(0);
    // And the clip is not flat, so equal frames say something.
    expect(new Set(whole.frames[4]).size).toBeGreaterThan(4);
  });

  it('a package without a preview decoder previews through vae_decoder, in tiles too', async () => {
    // 3 steps: previews after steps 1 and 2 (none after the last), each a whole tiled decode, then the clip's.
    const tiled = await clip('tiled-previews', { decoder_tiling: { tile: 3, overlap: 1 } }, true);
    expect(tiled.previewsSeen).toBe(2);
    expect(tiled.decoderRuns).toBe(3 * 12);
  });

  it('a package whose overlap is not below its tile is refused at load, naming the field', async () => {
    const fx = await buildWanFixturePackage(path.join(dir, 'bad'), { name: 'bad', animate: { decoder_tiling: { tile: 2, overlap: 2 } } });
    await expect(readModelPackage(fx.dir)).rejects.toThrow(/decoder_tiling.*overlap must be below tile/);
  });
});
