// Wan2.2-class packages in the daemon, on a fixture with Wan2.2-TI2V-5B's tensor names, ranks, dtypes and factors
// (test/fixtures/wan-fixture.ts) and closed-form behaviour: per-token timesteps (0 on an image's frame), zeroed text
// padding, float16 at the boundary, two-pass guidance against one batch, transformer_2 below the boundary, image
// conditioning, external data, and the load-time checks that name the file and the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, truncate, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TensorData } from '../../inference/backend/onnx.ts';
import { InvalidArgumentError, ModelInvalidError } from '../../inference/errors.ts';
import { readModelPackage } from '../../inference/model/package.ts';
import { ModelSessions } from '../../inference/model/sessions.ts';
import { gaussianNoise } from '../../inference/pipeline/rng.ts';
import { TextToVideo, type TextToVideoOptions, type TextToVideoParams } from '../../inference/pipeline/text-to-video.ts';
import { OnnxWorkerClient } from '../../inference/worker/onnx-worker-client.ts';
import { daemonOptionsFrom } from '../../inference/cli/daemon-options.ts';
import { buildWanFixturePackage, WAN_TI2V, type WanFixtureOptions, type WanFixturePackage } from '../fixtures/wan-fixture.ts';
import { GraphBuilder } from '../fixtures/onnx/builder.ts';

let dir: string;
let worker: OnnxWorkerClient;
let counter = 0;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'animate-wan-'));
  worker = new OnnxWorkerClient({ executionProvider: 'cpu', intraOpThreads: 1 });
});
afterAll(async () => {
  await worker.close();
  await rm(dir, { recursive: true, force: true });
});

interface Call {
  component: string;
  feeds: Record<string, { dims: number[]; data: Float32Array | BigInt64Array }>;
  output: Float32Array;
}

/** A package built, loaded and served, with every session.run recorded (copies: the pipeline reuses its buffers). */
async function serve(options: WanFixtureOptions = {}, pipelineOptions: TextToVideoOptions = {}) {
  const fx = await buildWanFixturePackage(path.join(dir, `p${counter++}`), options);
  const sessions = await ModelSessions.load(await readModelPackage(fx.dir), worker);
  const calls: Call[] = [];
  const run = sessions.run.bind(sessions);
  sessions.run = async (component, feeds: Record<string, TensorData>) => {
    const copy = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { dims: [...t.dims], data: t.data.slice() }]));
    const r = await run(component, feeds);
    calls.push({ component, feeds: copy, output: (Object.values(r.outputs)[0]!.data as Float32Array).slice() });
    return r;
  };
  return { fx, sessions, calls, pipeline: new TextToVideo(sessions, pipelineOptions) };
}

const base: TextToVideoParams = {
  prompt: 'a red ball bounces at night', negativePrompt: '', seed: 5, steps: 4, guidanceScale: 3,
  frames: 9, width: 64, height: 64, scheduler: 'euler', previewEvery: 0, previewMaxSide: 64,
};
const shapeOf = (p: TextToVideoParams) => ({ channels: WAN_TI2V.latentChannels, frames: 1 + (p.frames - 1) / 4, height: p.height / 16, width: p.width / 16 });
const tokensOf = (p: TextToVideoParams) => { const s = shapeOf(p); return s.frames * (s.height / 2) * (s.width / 2); };

/** 64×64 image of 16×16 blocks of solid colours (so the encoder's block mean is the block's colour). */
function blockImage(width = 64, height = 64): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const b = Math.floor(y / 16) * 4 + Math.floor(x / 16);
    rgb.set([(b * 53) % 256, (b * 97 + 40) % 256, (b * 31 + 200) % 256], (y * width + x) * 3);
  }
  return rgb;
}

/** Independent reference: Euler with shift 1, per-token timesteps, CFG (g2 on transformer_2's steps), image pinned. */
function reference(fx: WanFixturePackage, p: TextToVideoParams, image?: Uint8Array, boundary?: number, g2 = p.guidanceScale): Uint8Array[] {
  const shape = shapeOf(p);
  const n = shape.channels * shape.frames * shape.height * shape.width;
  const plane = shape.height * shape.width;
  const sigmas = Array.from({ length: p.steps }, (_, i) => (p.steps === 1 ? 1000 : 1000 + (i * (1 - 1000)) / (p.steps - 1)) / 1000);
  sigmas.push(0);
  const cond = fx.textEmbedding(p.prompt);
  const uncond = fx.textEmbedding(p.negativePrompt);
  const mean = fx.latentsMean;
  const std = fx.latentsStd;
  const first = image ? fx.encodeImage(image, p.width, p.height).map((z, k) => (z - mean[Math.floor(k / plane)]!) / std[Math.floor(k / plane)]!) : undefined;
  const pin = (x: Float64Array) => { if (first) for (let c = 0; c < shape.channels; c++) for (let q = 0; q < plane; q++) x[c * shape.frames * plane + q] = first[c * plane + q]!; };
  let x = Float64Array.from(gaussianNoise(p.seed, n));
  pin(x);
  for (let i = 0; i < p.steps; i++) {
    const t = sigmas[i]! * 1000;
    const which = boundary !== undefined && t < boundary * 1000 ? 2 : 1;
    const g = which === 2 ? g2 : p.guidanceScale;
    const tau = new Float32Array(tokensOf(p)).fill(t);
    if (image) tau.fill(0, 0, plane / 4);
    const xf = Float32Array.from(x);
    const vc = fx.velocity(which, xf, tau, cond, shape);
    const vu = fx.velocity(which, xf, tau, uncond, shape);
    x = x.map((xi, k) => xi + (sigmas[i + 1]! - sigmas[i]!) * (g === 1 ? vc[k]! : vu[k]! + g * (vc[k]! - vu[k]!)));
    pin(x);
  }
  const per = n / shape.channels;
  const z = Float32Array.from(x, (v, k) => v * std[Math.floor(k / per)]! + mean[Math.floor(k / per)]!);
  const rgb = fx.decode(z, shape);
  const frames = 1 + (shape.frames - 1) * 4;
  const P = p.width * p.height;
  return Array.from({ length: frames }, (_, f) => {
    const frame = new Uint8Array(P * 3);
    for (let q = 0; q < P; q++) for (let c = 0; c < 3; c++) frame[q * 3 + c] = Math.max(0, Math.min(255, Math.round((rgb[(c * frames + f) * P + q]! + 1) * 127.5)));
    return frame;
  });
}

function maxByteDiff(a: Uint8Array[], b: Uint8Array[]): number {
  let worst = 0;
  a.forEach((fa, f) => fa.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[f]![i]!)))));
  return worst;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('a Wan2.2-TI2V-5B-shaped package', () => {
  it('loads with its settings read and checked, and makes the clip the closed forms predict (float16 I/O)', async () => {
    const { fx, pipeline, calls, sessions } = await serve();
    const c = pipeline.pkg.config;
    expect([c.latent_channels, c.vae_scale_factor_temporal, c.vae_scale_factor_spatial, c.patch_size, c.timestep_shape, c.zero_text_padding, c.max_text_length])
      .toEqual([48, 4, 16, [1, 2, 2], 'tokens', true, 512]);
    expect(pipeline.acceptsImage).toBe(true);
    const result = await pipeline.run(base);
    const expected = reference(fx, base);
    const diff = maxByteDiff(result.video.frames, expected);
    console.log(`wan fp16 clip vs closed form: max byte diff ${diff}, ${result.video.frames.length} frames, denoise ${result.timings.denoiseMs.toFixed(1)} ms`);
    expect(result.video.frames.length).toBe(9);
    expect(diff).toBeLessThanOrEqual(1);
    // Sharp: another guidance scale is another clip.
    expect(maxByteDiff(result.video.frames, reference(fx, { ...base, guidanceScale: 5 }))).toBeGreaterThan(1);

    // Every transformer output is the closed form of its (float16-rounded) inputs, to float16 precision.
    const steps = calls.filter((k) => k.component === 'denoiser');
    expect(steps.length).toBe(base.steps);
    const shape = shapeOf(base);
    const n = shape.channels * shape.frames * shape.height * shape.width;
    for (const call of steps) {
      const ts = call.feeds.timestep!.data as Float32Array;
      const L = 512 * 8;
      for (let b = 0; b < 2; b++) {
        const want = fx.velocity(1, (call.feeds.hidden_states!.data as Float32Array).subarray(b * n, (b + 1) * n), ts.subarray(b * tokensOf(base), (b + 1) * tokensOf(base)), (call.feeds.encoder_hidden_states!.data as Float32Array).subarray(b * L, (b + 1) * L), shape);
        expect(maxDiff(call.output.subarray(b * n, (b + 1) * n), want)).toBeLessThan(4e-3);
      }
    }
    await sessions.dispose();
  });

  it('feeds per-token timesteps [B, F·(H/2)·(W/2)]: all t, and 0 for the first frame when it is the image', async () => {
    const { pipeline, calls, sessions } = await serve();
    await pipeline.run(base);
    const T = tokensOf(base);
    expect(T).toBe(12);
    const textSteps = calls.filter((k) => k.component === 'denoiser');
    const expectedT = [1000, 667, 334, 1];
    textSteps.forEach((call, i) => {
      expect(call.feeds.timestep!.dims).toEqual([2, T]);
      expect([...(call.feeds.timestep!.data as Float32Array)].every((v) => v === expectedT[i])).toBe(true);
    });
    calls.length = 0;
    await pipeline.run({ ...base, image: { width: 64, height: 64, rgb: blockImage() } });
    const imageSteps = calls.filter((k) => k.component === 'denoiser');
    expect(imageSteps.length).toBe(4);
    imageSteps.forEach((call, i) => {
      const ts = [...(call.feeds.timestep!.data as Float32Array)];
      // 4 tokens per latent frame (2×2 patches of a 4×4 latent): frame 0's are clean.
      for (const row of [ts.slice(0, T), ts.slice(T)]) expect(row).toEqual([0, 0, 0, 0, ...new Array(8).fill(expectedT[i])]);
    });
    await sessions.dispose();
  });

  it('zeroes the text embedding past the prompt (and does not when the package says not to)', async () => {
    const zeroed = await serve();
    await zeroed.pipeline.run(base);
    const ehs = zeroed.calls.find((k) => k.component === 'denoiser')!.feeds.encoder_hidden_states!;
    expect(ehs.dims).toEqual([2, 512, 8]);
    const cond = (ehs.data as Float32Array).subarray(0, 512 * 8);
    const words = zeroed.fx.tokenIds(base.prompt).findIndex((id) => id === 0);
    expect(words).toBe(6);
    expect(maxDiff(cond, zeroed.fx.textEmbedding(base.prompt))).toBe(0);
    expect(cond.subarray(words * 8).every((v) => v === 0)).toBe(true);
    expect(cond.subarray(0, words * 8).some((v) => v !== 0)).toBe(true);
    await zeroed.sessions.dispose();

    const kept = await serve({ zeroTextPadding: false });
    await kept.pipeline.run(base);
    const raw = (kept.calls.find((k) => k.component === 'denoiser')!.feeds.encoder_hidden_states!.data as Float32Array).subarray(0, 512 * 8);
    expect(maxDiff(raw, kept.fx.textEmbedding(base.prompt, false))).toBe(0);
    expect(raw.subarray(words * 8).some((v) => v !== 0)).toBe(true); // UMT5-like: padding is not zero by itself
    await kept.sessions.dispose();
  });

  it('two-pass guidance gives the clip of one batch, in runs of batch 1 (package setting and daemon override)', async () => {
    const one = await serve();
    const a = await one.pipeline.run(base);
    expect(one.calls.filter((k) => k.component === 'denoiser').map((k) => k.feeds.hidden_states!.dims[0])).toEqual([2, 2, 2, 2]);
    const two = await serve({ guidancePasses: 2 });
    expect(two.pipeline.guidancePasses).toBe(2);
    const b = await two.pipeline.run(base);
    expect(two.calls.filter((k) => k.component === 'denoiser').map((k) => k.feeds.hidden_states!.dims[0])).toEqual(new Array(8).fill(1));
    const diff = maxByteDiff(a.video.frames, b.video.frames);
    console.log(`two passes vs one batch: max byte diff ${diff}`);
    expect(diff).toBeLessThanOrEqual(1);
    // Two jobs at once still never make a batch of 2 when two passes are asked for.
    await Promise.all([two.pipeline.run(base), two.pipeline.run({ ...base, seed: 9 })]);
    expect(two.pipeline.batchStats.largestBatch).toBe(1);

    const overridden = await serve({}, { guidancePasses: 2 });
    await overridden.pipeline.run(base);
    expect(overridden.calls.filter((k) => k.component === 'denoiser').every((k) => k.feeds.hidden_states!.dims[0] === 1)).toBe(true);
    expect(daemonOptionsFrom({ 'guidance-passes': '2' }, {}).guidancePasses).toBe(2);
    expect(daemonOptionsFrom({}, { ANIMATE_GUIDANCE_PASSES: '1' }).guidancePasses).toBe(1);
    expect(() => daemonOptionsFrom({}, { ANIMATE_GUIDANCE_PASSES: '3' })).toThrow(/ANIMATE_GUIDANCE_PASSES="3" is not valid: accepts 1 \| 2/);
    for (const s of [one, two, overridden]) await s.sessions.dispose();
  });

  it('hands over to transformer_2 below boundary_ratio × num_train_timesteps, with its own guidance', async () => {
    const { fx, pipeline, calls, sessions } = await serve({ transformer2: { boundaryRatio: 0.5, guidanceScale2: 1.5 } });
    const result = await pipeline.run(base);
    // Timesteps 1000, 667 | 334, 1 against a boundary at 500.
    expect(calls.filter((k) => k.component.startsWith('denoiser')).map((k) => k.component)).toEqual(['denoiser', 'denoiser', 'denoiser_2', 'denoiser_2']);
    const diff = maxByteDiff(result.video.frames, reference(fx, base, undefined, 0.5, 1.5));
    console.log(`transformer_2 clip vs closed form: max byte diff ${diff}`);
    expect(diff).toBeLessThanOrEqual(1);
    expect(maxByteDiff(result.video.frames, reference(fx, base))).toBeGreaterThan(1); // without the switch: another clip
    expect(maxByteDiff(result.video.frames, reference(fx, base, undefined, 0.5, 3))).toBeGreaterThan(1); // g2 ignored: another clip
    await sessions.dispose();
  });

  it('starts from an image: encoded into the first latent frame, kept there, and shown as the first frame', async () => {
    const { fx, pipeline, calls, sessions } = await serve();
    const rgb = blockImage();
    const result = await pipeline.run({ ...base, image: { width: 64, height: 64, rgb } });
    const enc = calls.find((k) => k.component === 'vae_encoder')!;
    expect(enc.feeds.sample!.dims).toEqual([1, 3, 1, 64, 64]);
    expect(enc.output.length).toBe(48 * 4 * 4);
    // Every step sees the normalised encoding as frame 0.
    const shape = shapeOf(base);
    const plane = 16;
    const z = fx.encodeImage(rgb, 64, 64);
    for (const call of calls.filter((k) => k.component === 'denoiser')) {
      const h = call.feeds.hidden_states!.data as Float32Array;
      for (const c of [0, 1, 2, 47]) {
        for (let q = 0; q < plane; q++) expect(h[c * shape.frames * plane + q]).toBeCloseTo((z[c * plane + q]! - fx.latentsMean[c]!) / fx.latentsStd[c]!, 3);
      }
    }
    const first = result.video.frames[0]!;
    expect(maxDiff(first, rgb)).toBeLessThanOrEqual(1);
    const diff = maxByteDiff(result.video.frames, reference(fx, base, rgb));
    console.log(`image-to-video clip vs closed form: max byte diff ${diff}; first frame vs image ${maxDiff(first, rgb)}`);
    expect(diff).toBeLessThanOrEqual(1);
    await sessions.dispose();
  });

  it('refuses an image without a vae_encoder, or of the wrong size, naming the field and the model', async () => {
    const none = await serve({ vaeEncoder: false });
    expect(none.pipeline.acceptsImage).toBe(false);
    const image = { width: 64, height: 64, rgb: blockImage() };
    const err = await none.pipeline.run({ ...base, image }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).field).toBe('image');
    expect((err as Error).message).toMatch(/model "wan-ti2v-fixture" cannot start from an image: its package has no vae_encoder/);
    await none.sessions.dispose();
    const some = await serve();
    await expect(some.pipeline.run({ ...base, width: 96, image })).rejects.toThrow(/image: is 64×64 but the clip is 96×64/);
    await expect(some.pipeline.run({ ...base, width: 80 })).rejects.toThrow(/width: 80 is not a multiple of 32/);
    await some.sessions.dispose();
  });

  it('loads weights from external data beside model.onnx, and names the data file when it is missing or cut short', async () => {
    const plain = await serve();
    const ext = await serve({ externalData: ['text_encoder', 'transformer', 'vae_encoder'] });
    const a = await plain.pipeline.run({ ...base, image: { width: 64, height: 64, rgb: blockImage() } });
    const b = await ext.pipeline.run({ ...base, image: { width: 64, height: 64, rgb: blockImage() } });
    expect(maxByteDiff(a.video.frames, b.video.frames)).toBe(0);
    await plain.sessions.dispose();
    await ext.sessions.dispose();

    await truncate(path.join(ext.fx.dir, 'transformer', 'model.onnx_data'), 8);
    await expect(readModelPackage(ext.fx.dir)).rejects.toThrow(/transformer\/model.onnx: initializer "channel_weight" reads bytes 0..192 of transformer\/model.onnx_data, which has 8/);
    await unlink(path.join(ext.fx.dir, 'transformer', 'model.onnx_data'));
    const err = await readModelPackage(ext.fx.dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelInvalidError);
    expect((err as Error).message).toMatch(/model "wan-ti2v-fixture" is not usable: transformer\/model.onnx: initializer "channel_weight" has its data in transformer\/model.onnx_data, which is missing/);
    expect((err as Error).message).not.toContain(dir);
  });
});

describe('Wan settings are checked at load, naming the file and the field', () => {
  const cases: Array<[string, WanFixtureOptions, RegExp]> = [
    ['size grid coarser than the limits', { animate: { limits: { size_multiple: 16, min_side: 32, max_side: 128 } } }, /animate.limits.size_multiple is 16, but sides must be multiples of vae_scale_factor_spatial × patch_size = 32/],
    ['temporal patches', { animate: { patch_size: [2, 2, 2] } }, /model_index.json: animate.patch_size.0: the temporal patch must be 1/],
    ['guidance passes', { animate: { guidance_passes: 3 } }, /animate.guidance_passes: expected 1 \(one batch of cond and uncond\) or 2/],
    ['timestep shape', { animate: { timestep_shape: 'frames' } }, /animate.timestep_shape/],
    ['boundary without transformer_2', { animate: { boundary_ratio: 0.875 } }, /animate.boundary_ratio is 0.875 but transformer_2\/model.onnx is missing/],
    ['guidance_scale_2 without transformer_2', { animate: { guidance_scale_2: 3 } }, /animate.guidance_scale_2 is set but there is no transformer_2/],
  ];
  for (const [name, options, message] of cases) {
    it(name, async () => {
      const fx = await buildWanFixturePackage(path.join(dir, `bad${counter++}`), options);
      await expect(readModelPackage(fx.dir)).rejects.toThrow(message);
    });
  }

  it('transformer_2 without a boundary', async () => {
    const fx = await buildWanFixturePackage(path.join(dir, `bad${counter++}`), { transformer2: { boundaryRatio: 0.9 }, animate: { boundary_ratio: undefined } });
    await expect(readModelPackage(fx.dir)).rejects.toThrow(/transformer_2\/model.onnx is present but model_index.json has no animate.boundary_ratio/);
  });

  it('a per-token package whose transformer takes timestep [B]', async () => {
    const fx = await buildWanFixturePackage(path.join(dir, `bad${counter++}`), { timestepShape: 'batch', animate: { timestep_shape: 'tokens' } });
    const err = await ModelSessions.load(await readModelPackage(fx.dir), worker).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/transformer\/model.onnx input "timestep" has rank 1 \[batch\], expected rank 2/);
  });

  it('per-item timesteps still work ([B], timestep_shape "batch")', async () => {
    const { fx, pipeline, calls, sessions } = await serve({ timestepShape: 'batch' });
    const result = await pipeline.run(base);
    expect(calls.find((k) => k.component === 'denoiser')!.feeds.timestep!.dims).toEqual([2]);
    // The closed form with a single timestep is the per-token one with every token at t.
    expect(maxByteDiff(result.video.frames, reference(fx, base))).toBeLessThanOrEqual(1);
    await sessions.dispose();
  });

  it('bfloat16 inputs and outputs are converted at the boundary: float32 in and out, the rounding inside the graph', async () => {
    // A bf16 export (every float edge bf16, with its weights as external data beside the transformer) runs the same
    // clip as the float32 one, within what rounding each edge to bf16 (8 bits of mantissa) does to 8-bit frames.
    const f32 = await serve({ io: 'float32', vaeEncoder: false });
    const bf16 = await serve({ io: 'bfloat16', vaeEncoder: false, externalData: ['transformer'] });
    const [a, b] = [await f32.pipeline.run(base), await bf16.pipeline.run(base)];
    const diff = maxByteDiff(b.video.frames, a.video.frames);
    console.log(`bf16 edges vs float32: largest frame difference ${diff} of 255`);
    expect(diff).toBeLessThanOrEqual(4);
    // What the daemon fed was float32; the transformer's first output is the float32 one rounded to bf16.
    const first = (c: Call[]) => c.find((k) => k.component === 'denoiser')!;
    expect(first(bf16.calls).feeds.hidden_states!.data).toBeInstanceOf(Float32Array);
    const out32 = first(f32.calls).output;
    const outBf = first(bf16.calls).output;
    // Against the velocity's scale (bf16 keeps 8 bits: each rounding is within 2^-9 of a value, and the fixture's
    // transformer rounds at its input and its output).
    const scale = out32.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let worst = 0;
    for (let i = 0; i < out32.length; i++) worst = Math.max(worst, Math.abs(outBf[i]! - out32[i]!));
    console.log(`first velocity: largest difference ${worst.toExponential(2)} at a scale of ${scale.toFixed(2)}`);
    expect(worst / scale, 'difference of the first velocity, relative to its scale').toBeLessThan(2 ** -6);
    expect(worst, 'it is bf16, not float32').toBeGreaterThan(0);
    await Promise.all([f32.sessions.dispose(), bf16.sessions.dispose()]);
  });

  it('a bf16 graph that passes an input straight out is refused naming the tensor and what to do', async () => {
    const fx = await buildWanFixturePackage(path.join(dir, `bad${counter++}`), { vaeEncoder: false });
    const g = new GraphBuilder('bf16_decoder');
    g.input('latent_sample', 'bfloat16', ['batch', 48, 'f', 'h', 'w']);
    g.output('latent_sample', 'bfloat16', ['batch', 48, 'f', 'h', 'w']);
    await g.write(path.join(fx.dir, 'vae_decoder', 'model.onnx'));
    const err = await ModelSessions.load(await readModelPackage(fx.dir), worker).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelInvalidError);
    expect((err as Error).message).toMatch(/vae_decoder\/model.onnx has bfloat16 inputs or outputs, and cannot convert the bfloat16 edges: "latent_sample" is both a bfloat16 input and output of the graph; put an Identity between them; export it with float16 or float32 at the graph's edges/);
  });
});
