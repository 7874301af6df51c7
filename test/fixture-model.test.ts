/**
 * The fixture model packages, checked with the real onnxruntime-node and the real tokenizer: every graph's
 * output must equal its documented closed form for a batch of two different items.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BURN_MATRIX_SIZE,
  DEFAULT_LIMITS,
  UNK_TOKEN_ID,
  buildFixturePackage,
  type FixturePackage,
  type FixturePart,
} from './fixtures/fixture-model.ts';
import { burnMatmulMs, burnMatmulsFor } from './fixtures/fixture-burn.ts';

let root: string;
let counter = 0;
const freshDir = (): string => join(root, `pkg-${counter++}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fixture-model-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Deterministic values in [-2, 2) so that the decoder's clip is exercised too. */
function seededValues(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 4 - 2;
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

async function session(pkg: FixturePackage, part: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(join(pkg.dir, part, 'model.onnx'));
}

function int64Tensor(rows: number[][]): ort.Tensor {
  const flat = BigInt64Array.from(rows.flat().map(BigInt));
  return new ort.Tensor('int64', flat, [rows.length, rows[0]!.length]);
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

describe('package layout', () => {
  it('writes every file docs/model-package.md lists, quickly', async () => {
    const started = performance.now();
    const pkg = await buildFixturePackage(freshDir());
    console.log(`fixture package written in ${(performance.now() - started).toFixed(1)} ms`);
    for (const file of [
      'model_index.json',
      'README.md',
      'tokenizer/tokenizer.json',
      'tokenizer/tokenizer_config.json',
      'text_encoder/model.onnx',
      'transformer/model.onnx',
      'vae_decoder/model.onnx',
      'scheduler/scheduler_config.json',
      'preview/latent_rgb.json',
    ]) {
      expect(existsSync(join(pkg.dir, file)), file).toBe(true);
    }
  });

  it('writes the animate section with defaults and limits merged', async () => {
    const pkg = await buildFixturePackage(freshDir(), {
      name: 'tiny-test',
      latentChannels: 5,
      spatialFactor: 4,
      temporalFactor: 2,
      maxTextLength: 6,
      defaults: { steps: 7 },
      limits: { max_frames: 9 },
      latentsMean: [0.5, 0, 0, 0, -0.5],
      latentsStd: [2, 1, 1, 1, 1],
    });
    const index = await readJson(join(pkg.dir, 'model_index.json'));
    expect(index._class_name).toBe('AnimateTextToVideoPipeline');
    expect(index.name).toBe('tiny-test');
    expect(index.animate).toMatchObject({
      latent_channels: 5,
      vae_scale_factor_spatial: 4,
      vae_scale_factor_temporal: 2,
      latents_mean: [0.5, 0, 0, 0, -0.5],
      latents_std: [2, 1, 1, 1, 1],
      max_text_length: 6,
      pad_token_id: 0,
      defaults: { steps: 7, guidance_scale: 3, frames: 5, width: 32, height: 32, fps: 8, preview_every_n_steps: 1 },
      limits: { ...DEFAULT_LIMITS, max_frames: 9 },
    });
    expect(pkg.options.defaults.steps).toBe(7);
  });

  it('writes the default FlowMatchEuler scheduler, or the one asked for', async () => {
    const plain = await buildFixturePackage(freshDir());
    expect(await readJson(join(plain.dir, 'scheduler/scheduler_config.json'))).toMatchObject({
      _class_name: 'FlowMatchEulerDiscreteScheduler',
      num_train_timesteps: 1000,
      shift: 1,
    });
    const unipc = { _class_name: 'UniPCMultistepScheduler', use_flow_sigmas: true, prediction_type: 'flow_prediction', flow_shift: 3 };
    const custom = await buildFixturePackage(freshDir(), { scheduler: unipc });
    expect(await readJson(join(custom.dir, 'scheduler/scheduler_config.json'))).toEqual(unipc);
  });

  it('rejects options it cannot honour, naming the option', async () => {
    await expect(buildFixturePackage(freshDir(), { latentChannels: 2 })).rejects.toThrow(/latentChannels/);
    await expect(buildFixturePackage(freshDir(), { latentsStd: [1] })).rejects.toThrow(/latentsMean\/latentsStd/);
    await expect(
      buildFixturePackage(freshDir(), { renameTransformerInput: { from: 'sample', to: 'x' } }),
    ).rejects.toThrow(/renameTransformerInput\.from/);
  });
});

describe('tokenizer', () => {
  it('loads in @huggingface/tokenizers and encodes known and unknown words like the closed form', async () => {
    const pkg = await buildFixturePackage(freshDir());
    const tokenizer = new Tokenizer(
      await readJson(join(pkg.dir, 'tokenizer/tokenizer.json')),
      await readJson(join(pkg.dir, 'tokenizer/tokenizer_config.json')),
    );
    const known = tokenizer.encode('A Red ball BOUNCES at night');
    expect(known.ids).toEqual(['a', 'red', 'ball', 'bounces', 'at', 'night'].map((w) => pkg.vocab.indexOf(w)));
    expect(known.ids.every((id) => id > UNK_TOKEN_ID)).toBe(true);
    expect(tokenizer.decode(known.ids)).toBe('a red ball bounces at night');
    expect(pkg.tokenIds('A Red ball BOUNCES at night')).toEqual([...known.ids, 0, 0]);

    const unknown = tokenizer.encode('a zebra, at dawn');
    expect(unknown.ids).toEqual([pkg.vocab.indexOf('a'), UNK_TOKEN_ID, UNK_TOKEN_ID, pkg.vocab.indexOf('at'), UNK_TOKEN_ID]);
    expect(pkg.tokenIds('a zebra, at dawn')).toEqual([...unknown.ids, 0, 0, 0]);

    const long = 'red blue green yellow ball cube cat bird sea sky';
    expect(pkg.tokenIds(long)).toEqual(tokenizer.encode(long).ids.slice(0, 8));
    expect(pkg.vocab[0]).toBe('[PAD]');
    expect(pkg.vocab[1]).toBe('[UNK]');
  });
});

describe('text encoder', () => {
  it('returns the embedding rows of a batch of two prompts', async () => {
    const pkg = await buildFixturePackage(freshDir(), { embedDim: 6 });
    const prompts = ['a red ball bounces', 'the blue bird flies at night'];
    const ids = prompts.map((p) => pkg.tokenIds(p));
    const out = await (await session(pkg, 'text_encoder')).run({ input_ids: int64Tensor(ids) });
    const hidden = out.last_hidden_state!;
    expect(hidden.dims).toEqual([2, 8, 6]);
    expect(hidden.data).toEqual(concat(prompts.map((p) => pkg.textEmbedding(p))));
    expect(pkg.embedding(3)).toEqual(Float32Array.from({ length: 6 }, (_, d) => ((21 % 32) + ((5 * d) % 8) - 19.5) / 32));
    expect(pkg.textEmbedding(prompts[0]!)).not.toEqual(pkg.textEmbedding(prompts[1]!));
  });

  it('multiplies rows by attention_mask when the package declares that input', async () => {
    const pkg = await buildFixturePackage(freshDir(), { attentionMask: true, maxTextLength: 4 });
    const encoder = await session(pkg, 'text_encoder');
    expect(encoder.inputNames).toEqual(['input_ids', 'attention_mask']);
    const ids = [pkg.tokenIds('red ball'), pkg.tokenIds('sea')];
    const mask = ids.map((row) => row.map((id) => (id === 0 ? 0 : 1)));
    const out = await encoder.run({ input_ids: int64Tensor(ids), attention_mask: int64Tensor(mask) });
    const expected = concat(ids.flatMap((row, b) => row.map((id, l) => pkg.embedding(id).map((v) => v * mask[b]![l]!))));
    expect(out.last_hidden_state!.data).toEqual(expected);
  });
});

describe('transformer', () => {
  async function checkVelocity(pkg: FixturePackage, frames: number, height: number, width: number): Promise<void> {
    const c = pkg.options.latentChannels;
    const perItem = c * frames * height * width;
    const x = [seededValues(perItem, 1), seededValues(perItem, 2)];
    const timesteps = [1000, 250];
    const text = [pkg.textEmbedding('a red ball bounces on the grass'), pkg.textEmbedding('')];
    const seq = pkg.options.maxTextLength;
    const out = await (await session(pkg, 'transformer')).run({
      hidden_states: new ort.Tensor('float32', concat(x), [2, c, frames, height, width]),
      timestep: new ort.Tensor('float32', Float32Array.from(timesteps), [2]),
      encoder_hidden_states: new ort.Tensor('float32', concat(text), [2, seq, pkg.options.embedDim]),
    });
    const velocity = out.out_sample!;
    expect(velocity.dims).toEqual([2, c, frames, height, width]);
    const data = velocity.data as Float32Array;
    for (const b of [0, 1]) {
      const expected = pkg.velocity(x[b]!, timesteps[b]!, text[b]!);
      expect(maxAbsDiff(data.subarray(b * perItem, (b + 1) * perItem), expected)).toBeLessThanOrEqual(1e-6);
    }
    // The two items must differ in the text and time terms, or the check above would prove little.
    const zeros = new Float32Array(perItem);
    expect(pkg.velocity(zeros, timesteps[0]!, text[0]!)[0]).not.toBeCloseTo(pkg.velocity(zeros, timesteps[1]!, text[1]!)[0]!, 3);
  }

  it('returns α·x + β·mean(text)[c mod D] + γ·t/1000 for each batch item', async () => {
    await checkVelocity(await buildFixturePackage(freshDir()), 2, 3, 4);
  });

  it('follows other coefficients and more channels than text dims', async () => {
    const pkg = await buildFixturePackage(freshDir(), { alpha: -1.25, beta: 3, gamma: 0.8, latentChannels: 6, embedDim: 4, maxTextLength: 5 });
    await checkVelocity(pkg, 3, 2, 2);
  });

  it('matches the guidance formula when cond and uncond run as one batch', async () => {
    const pkg = await buildFixturePackage(freshDir());
    const c = pkg.options.latentChannels;
    const x = seededValues(c * 1 * 2 * 2, 7);
    const cond = pkg.textEmbedding('a blue cat rolls in the snow');
    const uncond = pkg.textEmbedding('');
    const out = await (await session(pkg, 'transformer')).run({
      hidden_states: new ort.Tensor('float32', concat([x, x]), [2, c, 1, 2, 2]),
      timestep: new ort.Tensor('float32', Float32Array.of(500, 500), [2]),
      encoder_hidden_states: new ort.Tensor('float32', concat([cond, uncond]), [2, 8, 8]),
    });
    const data = out.out_sample!.data as Float32Array;
    const g = 3;
    const guided = Float32Array.from(x, (_, i) => data[x.length + i]! + g * (data[i]! - data[x.length + i]!));
    // With x and t shared, guidance only scales the text term: v = α·x + γ·t/1000 + β·(m_u + g·(m_c − m_u)).
    const mean = (e: Float32Array, d: number): number => {
      let s = 0;
      for (let l = 0; l < 8; l++) s += e[l * 8 + d]!;
      return s / 8;
    };
    const expected = Float32Array.from(x, (v, i) => {
      const d = Math.floor(i / 4) % 8;
      return 0.5 * v + 0.25 * 0.5 + 2 * (mean(uncond, d) + g * (mean(cond, d) - mean(uncond, d)));
    });
    expect(maxAbsDiff(guided, expected)).toBeLessThan(1e-5);
  });
});

describe('vae decoder', () => {
  async function checkDecode(pkg: FixturePackage, frames: number, height: number, width: number): Promise<void> {
    const { latentChannels: c, spatialFactor: s, temporalFactor: t } = pkg.options;
    const perItem = c * frames * height * width;
    const latents = [seededValues(perItem, 11), seededValues(perItem, 12)];
    const out = await (await session(pkg, 'vae_decoder')).run({
      latent_sample: new ort.Tensor('float32', concat(latents), [2, c, frames, height, width]),
    });
    const sample = out.sample!;
    const outFrames = 1 + (frames - 1) * t;
    expect(sample.dims).toEqual([2, 3, outFrames, height * s, width * s]);
    const data = sample.data as Float32Array;
    const perOut = data.length / 2;
    for (const b of [0, 1]) {
      const expected = pkg.decode(latents[b]!, { channels: c, frames, height, width });
      expect(expected.length).toBe(perOut);
      expect(data.subarray(b * perOut, (b + 1) * perOut)).toEqual(expected);
    }
    expect(Math.min(...data)).toBe(-1);
    expect(Math.max(...data)).toBe(1);
  }

  it('upsamples the first three channels by s and clips to [-1, 1]', async () => {
    await checkDecode(await buildFixturePackage(freshDir()), 3, 2, 3);
  });

  it('yields 1 + (F-1)·t frames with a temporal factor', async () => {
    await checkDecode(await buildFixturePackage(freshDir(), { temporalFactor: 4, spatialFactor: 2 }), 3, 2, 2);
    await checkDecode(await buildFixturePackage(freshDir(), { temporalFactor: 4, spatialFactor: 2 }), 1, 2, 2);
  });

  it('agrees with preview/latent_rgb.json inside [-1, 1]', async () => {
    const pkg = await buildFixturePackage(freshDir(), { latentChannels: 5 });
    const preview = (await readJson(join(pkg.dir, 'preview/latent_rgb.json'))) as { factors: number[][]; bias: number[] };
    expect(preview.factors).toHaveLength(5);
    const latent = seededValues(5, 3).map((v) => v / 2); // one latent pixel, inside [-1, 1]
    const decoded = pkg.decode(latent, { channels: 5, frames: 1, height: 1, width: 1 });
    const rgb = [0, 1, 2].map((k) => preview.bias[k]! + latent.reduce((sum, z, ch) => sum + z * preview.factors[ch]![k]!, 0));
    // decode of a 1×1 latent is s×s copies of that pixel per colour plane.
    const plane = pkg.options.spatialFactor ** 2;
    expect([decoded[0], decoded[plane], decoded[2 * plane]]).toEqual(rgb.map(Math.fround));
  });
});

describe('corrupt variants', () => {
  const parts: Array<[FixturePart, string]> = [
    ['tokenizer', 'tokenizer/tokenizer.json'],
    ['text_encoder', 'text_encoder/model.onnx'],
    ['transformer', 'transformer/model.onnx'],
    ['vae_decoder', 'vae_decoder/model.onnx'],
    ['scheduler', 'scheduler/scheduler_config.json'],
    ['model_index', 'model_index.json'],
  ];
  it.each(parts)('omit %s leaves out %s and nothing else', async (part, file) => {
    const pkg = await buildFixturePackage(freshDir(), { omit: [part] });
    for (const [, other] of parts) expect(existsSync(join(pkg.dir, other)), other).toBe(other !== file);
  });

  it('renames a transformer input on request and can drop the preview factors', async () => {
    const pkg = await buildFixturePackage(freshDir(), {
      renameTransformerInput: { from: 'timestep', to: 'sigma' },
      previewFactors: false,
    });
    const transformer = await session(pkg, 'transformer');
    expect(transformer.inputNames).toEqual(['hidden_states', 'sigma', 'encoder_hidden_states']);
    expect(existsSync(join(pkg.dir, 'preview/latent_rgb.json'))).toBe(false);
  });
});

describe('burnMatmuls', () => {
  it('makes a denoiser call slower without changing its output', async () => {
    const fast = await buildFixturePackage(freshDir());
    const slow = await buildFixturePackage(freshDir(), { burnMatmuls: 60 });
    const c = fast.options.latentChannels;
    const x = concat([seededValues(c * 2 * 4 * 4, 21), seededValues(c * 2 * 4 * 4, 22)]);
    const feeds = {
      hidden_states: new ort.Tensor('float32', x, [2, c, 2, 4, 4]),
      timestep: new ort.Tensor('float32', Float32Array.of(900, 100), [2]),
      encoder_hidden_states: new ort.Tensor('float32', concat([fast.textEmbedding('red sky'), fast.textEmbedding('green sea')]), [2, 8, 8]),
    };
    const timeCalls = async (pkg: FixturePackage): Promise<{ ms: number; out: Float32Array }> => {
      const s = await session(pkg, 'transformer');
      let out = (await s.run(feeds)).out_sample!.data as Float32Array; // warm-up
      const started = performance.now();
      for (let i = 0; i < 5; i++) out = (await s.run(feeds)).out_sample!.data as Float32Array;
      return { ms: (performance.now() - started) / 5, out };
    };
    const plain = await timeCalls(fast);
    const burnt = await timeCalls(slow);
    console.log(
      `denoiser call: ${plain.ms.toFixed(2)} ms plain, ${burnt.ms.toFixed(2)} ms with 60 burn MatMuls of ${BURN_MATRIX_SIZE}²`,
    );
    expect(burnt.out).toEqual(plain.out);
    expect(burnt.out.some(Number.isNaN)).toBe(false);
  });
});

describe('burnMs', () => {
  it('picks the burn MatMul count that this machine needs for the time asked, in proportion', async () => {
    const perMatmul = await burnMatmulMs();
    expect(perMatmul).toBeGreaterThan(0);
    const pkg = await buildFixturePackage(freshDir(), { burnMs: 100 });
    expect(pkg.options.burnMatmuls).toBe(Math.max(1, Math.round(100 / perMatmul)));
    expect(await burnMatmulsFor(400)).toBeGreaterThanOrEqual(4 * pkg.options.burnMatmuls - 2);
    await expect(buildFixturePackage(freshDir(), { burnMs: 0 })).rejects.toThrow(/burnMs must be a positive number/);
  });
});
