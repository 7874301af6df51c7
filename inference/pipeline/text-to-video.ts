// The text-to-video loop over one model's loaded sessions: text encoding, the denoising loop with classifier-free
// guidance (cond and uncond as one batch; the unconditional embedding cached), previews of the x0 estimate and the
// VAE decode. One instance per served model, shared by its jobs, so their denoiser steps meet in one DenoiseBatcher.
// Loading the sessions is model/sessions.ts's job; this module only runs them.
import type { TensorData } from '../backend/onnx.ts';
import { RequestCancelledError, DaemonError, InferenceFailedError } from '../errors.ts';
import type { ComponentName, ModelPackage } from '../model/package.ts';
import type { ModelSessions } from '../model/sessions.ts';
import { createScheduler, type SchedulerName } from '../schedulers/index.ts';
import { DenoiseBatcher } from './denoise-batcher.ts';
import { decodedToFrames, latentToPreviewFrames, type RgbFrames } from './frames.ts';
import { gaussianNoise } from './rng.ts';

export interface TextToVideoParams {
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

export interface TextToVideoHooks {
  signal?: AbortSignal;
  onStep?(step: number, total: number): void;
  onPreview?(step: number, total: number, frames: RgbFrames): void;
}

export interface TextToVideoTimings {
  textEncodeMs: number;
  denoiseMs: number;
  decodeMs: number;
  firstPreviewMs: number;
  /** Sum of the pure session.run times of this run (inside the worker). */
  sessionRunMs: number;
}

export interface TextToVideoResult {
  video: RgbFrames;
  unknownWords: string[];
  timings: TextToVideoTimings;
}

export interface LatentShape {
  channels: number;
  frames: number;
  height: number;
  width: number;
}

export interface TextToVideoOptions {
  /** Largest denoiser batch (items) for step-level batching across jobs. Default 8. */
  maxBatch?: number;
  /** Entries kept in the unconditional-embedding cache. Default 64. */
  uncondCacheSize?: number;
}

const DEFAULT_OPTIONS: Required<TextToVideoOptions> = { maxBatch: 8, uncondCacheSize: 64 };

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  throw reason instanceof DaemonError ? reason : new RequestCancelledError(typeof reason === 'string' ? reason : 'the request was cancelled');
}

export class TextToVideo {
  readonly pkg: ModelPackage;
  private readonly batcher: DenoiseBatcher;
  private readonly uncondCache = new Map<string, Float32Array>();
  private readonly options: Required<TextToVideoOptions>;
  private textDims: number[] = [];

  constructor(
    private readonly sessions: ModelSessions,
    options: TextToVideoOptions = {},
  ) {
    this.pkg = sessions.pkg;
    this.options = { ...DEFAULT_OPTIONS, ...options };
    this.batcher = new DenoiseBatcher((feeds) => this.sessions.run('denoiser', feeds), this.options.maxBatch);
  }

  get batchStats() {
    return this.batcher.stats;
  }

  private async runComponent(component: ComponentName, feeds: Record<string, TensorData>, timings: TextToVideoTimings): Promise<TensorData> {
    const { outputs, runMs } = await this.sessions.run(component, feeds);
    timings.sessionRunMs += runMs;
    const out = Object.values(outputs)[0];
    if (!out || !(out.data instanceof Float32Array)) throw new InferenceFailedError(`${component} returned no float32 output`);
    return out;
  }

  latentShape(params: Pick<TextToVideoParams, 'frames' | 'width' | 'height'>): LatentShape {
    const c = this.pkg.config;
    return {
      channels: c.latent_channels,
      frames: 1 + Math.floor((params.frames - 1) / c.vae_scale_factor_temporal),
      height: params.height / c.vae_scale_factor_spatial,
      width: params.width / c.vae_scale_factor_spatial,
    };
  }

  /** Encodes prompts as one batch; returns [n, L, D] flattened. */
  private async encodeTexts(texts: string[], timings: TextToVideoTimings): Promise<Float32Array> {
    const L = this.pkg.config.max_text_length;
    const ids = new BigInt64Array(texts.length * L);
    const mask = new BigInt64Array(texts.length * L);
    texts.forEach((t, i) => {
      const enc = this.pkg.tokenizer.encode(t);
      ids.set(enc.ids, i * L);
      mask.set(enc.attentionMask, i * L);
    });
    const feeds: Record<string, TensorData> = { input_ids: { type: 'int64', dims: [texts.length, L], data: ids } };
    if (this.sessions.hasAttentionMask) feeds.attention_mask = { type: 'int64', dims: [texts.length, L], data: mask };
    const out = await this.runComponent('text_encoder', feeds, timings);
    this.textDims = out.dims.slice(1);
    return out.data as Float32Array;
  }

  /** Conditional and unconditional embeddings; the unconditional one is computed once per negative prompt. */
  private async encodePrompt(prompt: string, negative: string, needUncond: boolean, timings: TextToVideoTimings): Promise<{ cond: Float32Array; uncond?: Float32Array }> {
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

  private async preview(x0: Float32Array, shape: LatentShape, params: TextToVideoParams, timings: TextToVideoTimings): Promise<RgbFrames> {
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

  /** One clip: the prompt encoded, `params.steps` denoising steps (batched with other jobs' steps), decoded. */
  async run(params: TextToVideoParams, hooks: TextToVideoHooks = {}): Promise<TextToVideoResult> {
    const timings: TextToVideoTimings = { textEncodeMs: 0, denoiseMs: 0, decodeMs: 0, firstPreviewMs: 0, sessionRunMs: 0 };
    const t0 = performance.now();
    const useGuidance = params.guidanceScale !== 1;
    throwIfAborted(hooks.signal);
    const unknownWords = this.pkg.tokenizer.unknownWords(params.prompt);
    const { cond, uncond } = await this.encodePrompt(params.prompt, params.negativePrompt, useGuidance, timings);
    const shape = this.latentShape(params);
    const text = useGuidance && uncond ? concat2(cond, uncond) : cond;

    const denoiseStarted = performance.now();
    const x = await this.denoise(params, hooks, { text, useGuidance, shape, timings, t0 });
    timings.denoiseMs = performance.now() - denoiseStarted;
    throwIfAborted(hooks.signal);

    const decodeStarted = performance.now();
    const video = await this.decode(x, shape, params.frames, timings);
    timings.decodeMs = performance.now() - decodeStarted;
    return { video, unknownWords, timings };
  }

  /** The denoising loop from seeded noise to the final latent, with guidance, step hooks and previews. */
  private async denoise(params: TextToVideoParams, hooks: TextToVideoHooks, ctx: DenoiseContext): Promise<Float32Array> {
    const { text, useGuidance, shape, timings, t0 } = ctx;
    const latentDims = [shape.channels, shape.frames, shape.height, shape.width];
    const n = latentDims.reduce((a, b) => a * b, 1);
    const scheduler = createScheduler(this.pkg.schedulerConfig, params.steps, params.scheduler);
    const batch = useGuidance ? 2 : 1;

    let x = gaussianNoise(params.seed, n);
    // Buffers reused across steps (the worker receives copies, the scheduler keeps none of them): less garbage per step.
    const hidden = new Float32Array(batch * n);
    const timesteps = new Float32Array(batch);
    const velocity = new Float32Array(n);
    for (let i = 0; i < params.steps; i++) {
      throwIfAborted(hooks.signal);
      hidden.set(x);
      if (useGuidance) hidden.set(x, n);
      timesteps.fill(scheduler.timesteps[i]!);
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
      const { next, x0 } = scheduler.step(i, velocity, x);
      x = next;
      hooks.onStep?.(i + 1, params.steps);
      const wantPreview = params.previewEvery > 0 && i + 1 < params.steps && (i === 0 || (i + 1) % params.previewEvery === 0);
      if (wantPreview && hooks.onPreview) {
        const frames = await this.preview(x0, shape, params, timings);
        if (timings.firstPreviewMs === 0) timings.firstPreviewMs = performance.now() - t0;
        hooks.onPreview(i + 1, params.steps, frames);
      }
    }
    return x;
  }

  /** The final latent through the VAE decoder into RGB frames, `frames` of them. */
  private async decode(x: Float32Array, shape: LatentShape, frames: number, timings: TextToVideoTimings): Promise<RgbFrames> {
    const latent = { type: 'float32' as const, dims: [1, shape.channels, shape.frames, shape.height, shape.width], data: this.toDecoderSpace(x, shape) };
    const decoded = await this.runComponent('vae_decoder', { latent_sample: latent }, timings);
    const [, , f, h, w] = decoded.dims as [number, number, number, number, number];
    // Causal temporal decoders may produce a few more frames than asked; keep the requested count.
    const video = decodedToFrames(decoded.data as Float32Array, f, h, w);
    if (video.frames.length > frames) video.frames.length = frames;
    return video;
  }
}

/** What the denoising loop of one run needs from the steps before it. */
interface DenoiseContext {
  /** [batch, L, D] text embeddings: cond, then uncond when guided. */
  text: Float32Array;
  useGuidance: boolean;
  shape: LatentShape;
  timings: TextToVideoTimings;
  /** When the run started (performance.now()), for the time to the first preview. */
  t0: number;
}

function concat2(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
