// One loaded model: its ONNX sessions in the inference worker, and the text-to-video denoising loop with
// classifier-free guidance (cond and uncond as one batch; the unconditional embedding cached).
import type { TensorData } from '../backend/onnx.ts';
import path from 'node:path';
import { CancelledError, DaemonError, InferenceFailedError, ModelInvalidError } from '../errors.ts';
import { checkComponentIO } from '../model/io-contract.ts';
import type { ComponentName, ModelPackage } from '../model/package.ts';
import { createSampler, type SchedulerName } from '../schedulers/index.ts';
import type { OnnxWorkerClient } from '../worker/onnx-worker-client.ts';
import { DenoiseBatcher } from './denoise-batcher.ts';
import { decodedToFrames, latentToPreviewFrames, type RgbFrames } from './frames.ts';
import { gaussianNoise } from './rng.ts';

export interface GenerationParams {
  prompt: string;
  negativePrompt: string;
  seed: number;
  steps: number;
  guidanceScale: number;
  frames: number;
  width: number;
  height: number;
  scheduler: SchedulerName;
  /** Emit a preview after the first step and then every N steps; 0 disables previews. */
  previewEvery: number;
  /** Longest side of preview frames in pixels. */
  previewMaxSide: number;
}

export interface GenerationHooks {
  signal?: AbortSignal;
  onStep?(step: number, total: number): void;
  onPreview?(step: number, total: number, frames: RgbFrames): void;
}

export interface GenerationTimings {
  textEncodeMs: number;
  denoiseMs: number;
  decodeMs: number;
  firstPreviewMs: number;
  /** Sum of the pure session.run times of this generation (inside the worker). */
  sessionRunMs: number;
}

export interface GenerationResult {
  video: RgbFrames;
  unknownWords: string[];
  timings: GenerationTimings;
}

export interface LatentShape {
  channels: number;
  frames: number;
  height: number;
  width: number;
}

export interface RuntimeOptions {
  /** Largest denoiser batch (items) for step-level batching across jobs. Default 8. */
  maxBatch?: number;
  /** Entries kept in the unconditional-embedding cache. Default 64. */
  uncondCacheSize?: number;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  throw reason instanceof DaemonError ? reason : new CancelledError(typeof reason === 'string' ? reason : 'the request was cancelled');
}

export class ModelRuntime {
  private readonly batcher: DenoiseBatcher;
  private readonly uncondCache = new Map<string, Float32Array>();
  private textDims: number[] = [];
  private constructor(
    readonly pkg: ModelPackage,
    private readonly worker: OnnxWorkerClient,
    private readonly hasAttentionMask: boolean,
    private readonly options: Required<RuntimeOptions>,
  ) {
    this.batcher = new DenoiseBatcher((feeds) => this.worker.run(this.key('denoiser'), feeds), options.maxBatch);
  }

  /** Loads every session of the package into the worker and checks their inputs against the contract. */
  static async load(pkg: ModelPackage, worker: OnnxWorkerClient, options: RuntimeOptions = {}): Promise<ModelRuntime> {
    const components = Object.keys(pkg.onnx) as ComponentName[];
    let hasMask = false;
    for (const component of components) {
      const file = pkg.onnx[component];
      if (!file) continue;
      const info = await worker.load(`${pkg.hash}:${component}`, file).catch((err: Error) => {
        throw new ModelInvalidError(pkg.dir, `${path.relative(pkg.dir, file)} cannot be loaded by onnxruntime (${err.message})`, { name: pkg.name, cause: err });
      });
      const present = checkComponentIO(pkg, component, info);
      if (component === 'text_encoder') hasMask = present.has('attention_mask');
    }
    return new ModelRuntime(pkg, worker, hasMask, { maxBatch: options.maxBatch ?? 8, uncondCacheSize: options.uncondCacheSize ?? 64 });
  }

  get batchStats() {
    return this.batcher.stats;
  }

  private key(component: ComponentName): string {
    return `${this.pkg.hash}:${component}`;
  }

  private async runComponent(component: ComponentName, feeds: Record<string, TensorData>, timings: GenerationTimings): Promise<TensorData> {
    const { outputs, runMs } = await this.worker.run(this.key(component), feeds);
    timings.sessionRunMs += runMs;
    const out = Object.values(outputs)[0];
    if (!out || !(out.data instanceof Float32Array)) throw new InferenceFailedError(`${component} returned no float32 output`);
    return out;
  }

  latentShape(params: Pick<GenerationParams, 'frames' | 'width' | 'height'>): LatentShape {
    const c = this.pkg.config;
    return {
      channels: c.latent_channels,
      frames: 1 + Math.floor((params.frames - 1) / c.vae_scale_factor_temporal),
      height: params.height / c.vae_scale_factor_spatial,
      width: params.width / c.vae_scale_factor_spatial,
    };
  }

  /** Encodes prompts as one batch; returns [n, L, D] flattened. */
  private async encodeTexts(texts: string[], timings: GenerationTimings): Promise<Float32Array> {
    const L = this.pkg.config.max_text_length;
    const ids = new BigInt64Array(texts.length * L);
    const mask = new BigInt64Array(texts.length * L);
    texts.forEach((t, i) => {
      const enc = this.pkg.tokenizer.encode(t);
      ids.set(enc.ids, i * L);
      mask.set(enc.attentionMask, i * L);
    });
    const feeds: Record<string, TensorData> = { input_ids: { type: 'int64', dims: [texts.length, L], data: ids } };
    if (this.hasAttentionMask) feeds.attention_mask = { type: 'int64', dims: [texts.length, L], data: mask };
    const out = await this.runComponent('text_encoder', feeds, timings);
    this.textDims = out.dims.slice(1);
    return out.data as Float32Array;
  }

  /** Conditional and unconditional embeddings; the unconditional one is computed once per negative prompt. */
  private async encodePrompt(prompt: string, negative: string, needUncond: boolean, timings: GenerationTimings): Promise<{ cond: Float32Array; uncond?: Float32Array }> {
    const started = performance.now();
    const cached = this.uncondCache.get(negative);
    let result: { cond: Float32Array; uncond?: Float32Array };
    if (!needUncond) result = { cond: await this.encodeTexts([prompt], timings) };
    else if (cached) result = { cond: await this.encodeTexts([prompt], timings), uncond: cached };
    else {
      const both = await this.encodeTexts([prompt, negative], timings);
      const half = both.length / 2;
      const uncond = both.slice(half);
      if (this.uncondCache.size >= this.options.uncondCacheSize) this.uncondCache.delete(this.uncondCache.keys().next().value!);
      this.uncondCache.set(negative, uncond);
      result = { cond: both.slice(0, half), uncond };
    }
    timings.textEncodeMs = performance.now() - started;
    return result;
  }

  /** Normalised latent → the decoder's latent space (per-channel std and mean). */
  private toDecoderSpace(x: Float32Array, shape: LatentShape): Float32Array {
    const { latents_mean: mean, latents_std: std } = this.pkg.config;
    if (!mean && !std) return x;
    const out = new Float32Array(x.length);
    const per = shape.frames * shape.height * shape.width;
    for (let c = 0; c < shape.channels; c++) {
      const m = mean?.[c] ?? 0;
      const s = std?.[c] ?? 1;
      for (let i = c * per; i < (c + 1) * per; i++) out[i] = x[i]! * s + m;
    }
    return out;
  }

  private async preview(x0: Float32Array, shape: LatentShape, params: GenerationParams, timings: GenerationTimings): Promise<RgbFrames> {
    const z = this.toDecoderSpace(x0, shape);
    const factors = this.pkg.previewFactors;
    if (factors) {
      const scale = Math.max(1, Math.floor(params.previewMaxSide / Math.max(shape.height, shape.width)));
      return latentToPreviewFrames(z, shape, factors, scale);
    }
    const component: ComponentName = this.pkg.onnx.preview_decoder ? 'preview_decoder' : 'vae_decoder';
    const out = await this.runComponent(component, { latent_sample: { type: 'float32', dims: [1, shape.channels, shape.frames, shape.height, shape.width], data: z } }, timings);
    const [, , f, h, w] = out.dims as [number, number, number, number, number];
    return decodedToFrames(out.data as Float32Array, f, h, w);
  }

  async generate(params: GenerationParams, hooks: GenerationHooks = {}): Promise<GenerationResult> {
    const timings: GenerationTimings = { textEncodeMs: 0, denoiseMs: 0, decodeMs: 0, firstPreviewMs: 0, sessionRunMs: 0 };
    const t0 = performance.now();
    const useGuidance = params.guidanceScale !== 1;
    throwIfAborted(hooks.signal);
    const unknownWords = this.pkg.tokenizer.unknownWords(params.prompt);
    const { cond, uncond } = await this.encodePrompt(params.prompt, params.negativePrompt, useGuidance, timings);
    const shape = this.latentShape(params);
    const latentDims = [shape.channels, shape.frames, shape.height, shape.width];
    const n = latentDims.reduce((a, b) => a * b, 1);
    const sampler = createSampler(this.pkg.schedulerConfig, params.steps, params.scheduler);
    const text = useGuidance && uncond ? concat2(cond, uncond) : cond;
    const batch = useGuidance ? 2 : 1;

    let x = gaussianNoise(params.seed, n);
    // Buffers reused across steps (the worker receives copies, the sampler keeps none of them): less garbage per step.
    const hidden = new Float32Array(batch * n);
    const timesteps = new Float32Array(batch);
    const velocity = new Float32Array(n);
    const denoiseStarted = performance.now();
    for (let i = 0; i < params.steps; i++) {
      throwIfAborted(hooks.signal);
      hidden.set(x);
      if (useGuidance) hidden.set(x, n);
      timesteps.fill(sampler.timesteps[i]!);
      const { output: out, runMs } = await this.batcher.denoise({ hiddenStates: hidden, timesteps, encoderHiddenStates: text, batch }, latentDims, this.textDims);
      timings.sessionRunMs += runMs;
      if (useGuidance) {
        const g = params.guidanceScale;
        for (let k = 0; k < n; k++) {
          const vc = out[k]!;
          const vu = out[n + k]!;
          velocity[k] = vu + g * (vc - vu);
        }
      } else velocity.set(out.subarray(0, n));
      const { next, x0 } = sampler.step(i, velocity, x);
      x = next;
      hooks.onStep?.(i + 1, params.steps);
      const wantPreview = params.previewEvery > 0 && i + 1 < params.steps && (i === 0 || (i + 1) % params.previewEvery === 0);
      if (wantPreview && hooks.onPreview) {
        const frames = await this.preview(x0, shape, params, timings);
        if (timings.firstPreviewMs === 0) timings.firstPreviewMs = performance.now() - t0;
        hooks.onPreview(i + 1, params.steps, frames);
      }
    }
    timings.denoiseMs = performance.now() - denoiseStarted;
    throwIfAborted(hooks.signal);

    const decodeStarted = performance.now();
    const decoded = await this.runComponent('vae_decoder', { latent_sample: { type: 'float32', dims: [1, ...latentDims], data: this.toDecoderSpace(x, shape) } }, timings);
    const [, , f, h, w] = decoded.dims as [number, number, number, number, number];
    // Causal temporal decoders may produce a few more frames than asked; keep the requested count.
    const video = decodedToFrames(decoded.data as Float32Array, f, h, w);
    if (video.frames.length > params.frames) video.frames.length = params.frames;
    timings.decodeMs = performance.now() - decodeStarted;
    return { video, unknownWords, timings };
  }

  async dispose(): Promise<void> {
    for (const component of Object.keys(this.pkg.onnx) as ComponentName[]) await this.worker.dispose(this.key(component));
  }
}

function concat2(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
