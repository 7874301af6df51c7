// The text-to-video loop over one model's loaded sessions: text encoding, the denoising loop with classifier-free
// guidance (cond and uncond as one batch, or as two passes; the unconditional embedding cached), previews of the x0
// estimate and the VAE decode. Wan2.x packages add per-token timesteps, zeroed text padding, a second transformer
// below a boundary of the noise schedule, and an image encoded into the first latent frame (conditioning.ts).
// One instance per served model, shared by its jobs, so their denoiser steps meet in one DenoiseBatcher per
// transformer. Loading the sessions is model/sessions.ts's job; this module only runs them.
import type { TensorData } from '../backend/onnx.ts';
import { RequestCancelledError, DaemonError, InferenceFailedError, InvalidArgumentError } from '../errors.ts';
import { acceptsImage, type ComponentName, type ModelPackage } from '../model/package.ts';
import type { ModelSessions } from '../model/sessions.ts';
import { createScheduler, type SchedulerName } from '../schedulers/index.ts';
import { decodeInTiles, needsTiles } from './tiled-decode.ts';
import { fillTokenTimesteps, normaliseLatent, pinFirstFrame, rgbToSample, tokenCount, zeroPastLength, type LatentShape } from './conditioning.ts';
import { DenoiseBatcher } from './denoise-batcher.ts';
import { decodedToFrames, latentToPreviewFrames, type RgbFrames } from './frames.ts';
import { gaussianNoise } from './rng.ts';
import { PreviewPacer } from './preview-pacer.ts';
import { StyleSessionCache } from '../model/lora/style-sessions.ts';
import { findStyle } from '../model/lora/styles.ts';
import { MAX_STYLE_STRENGTH, MIN_STYLE_STRENGTH } from '../../shared/wire/styles.ts';

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
  /**
   * Previews: one right after step 1, then at least `previewMinIntervalMs` apart and at most one every `previewEvery`
   * steps (preview-pacer.ts); 0 disables previews.
   */
  previewEvery: number;
  /** Least time between two previews in ms; default DEFAULT_PREVIEW_MIN_INTERVAL_MS (250). */
  previewMinIntervalMs?: number | undefined;
  /** Longest side of preview frames in pixels. */
  previewMaxSide: number;
  /**
   * Image-to-video: the clip's first frame, already fitted to width × height (8-bit RGB, row-major HWC). Needs a
   * package with vae_encoder/ (`acceptsImage`).
   */
  image?: { width: number; height: number; rgb: Uint8Array };
  /** Guidance of transformer_2's steps (A14B); default the package's guidance_scale_2, else guidanceScale. */
  guidanceScale2?: number;
  /**
   * A style of the package (loras/<name>/) merged into the transformer at `strength` (0..2; 0 is the base model and
   * runs the base session). Absent: the base model.
   */
  style?: StyleChoice;
}

/** GenerateRequest.style and style_strength, validated. */
export interface StyleChoice {
  name: string;
  strength: number;
}

export interface TextToVideoHooks {
  signal?: AbortSignal;
  onStep?(step: number, total: number): void;
  onPreview?(step: number, total: number, frames: RgbFrames): void;
  /** The clock previews are paced by (ms, monotonic); default performance.now. Tests inject one. */
  now?: () => number;
}

export interface TextToVideoTimings {
  textEncodeMs: number;
  /** The image through the VAE encoder (0 without an image). */
  imageEncodeMs: number;
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

export type { LatentShape } from './conditioning.ts';

export interface TextToVideoOptions {
  /** Largest denoiser batch (items) for step-level batching across jobs. Default 8. */
  maxBatch?: number;
  /** Entries kept in the unconditional-embedding cache. Default 64. */
  uncondCacheSize?: number;
  /**
   * Overrides the package's guidance_passes (the daemon's ANIMATE_GUIDANCE_PASSES). With 2, cond and uncond run as
   * two session runs of batch 1 and no run is ever batched past 1 item, across jobs either: a batch of two is what
   * does not fit.
   */
  guidancePasses?: 1 | 2 | undefined;
  /** The daemon's cache of styled transformer sessions (shared by its models). Default: one of this pipeline's own. */
  styleSessions?: StyleSessionCache | undefined;
  /**
   * Least time between two previews of a clip when its params set none (the daemon's ANIMATE_PREVIEW_INTERVAL_MS).
   * Default DEFAULT_PREVIEW_MIN_INTERVAL_MS (250).
   */
  previewMinIntervalMs?: number | undefined;
}

const DEFAULT_OPTIONS = { maxBatch: 8, uncondCacheSize: 64 };

type Denoiser = 'denoiser' | 'denoiser_2';

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  throw reason instanceof DaemonError ? reason : new RequestCancelledError(typeof reason === 'string' ? reason : 'the request was cancelled');
}

export class TextToVideo {
  readonly pkg: ModelPackage;
  /** 1: cond and uncond in one batch; 2: two passes (package setting, or the daemon's override). */
  readonly guidancePasses: 1 | 2;
  private readonly batchers: Record<Denoiser, DenoiseBatcher | undefined>;
  private readonly uncondCache = new Map<string, Float32Array>();
  private readonly options: { maxBatch: number; uncondCacheSize: number; previewMinIntervalMs: number | undefined };
  private textDims: number[] = [];
  private styles: StyleSessionCache | undefined;
  /** Step batchers of styled transformers in use, by session key: jobs of one style and strength batch together. */
  private readonly styledBatchers = new Map<string, { batcher: DenoiseBatcher; users: number }>();
  private readonly maxBatch: number;

  constructor(
    private readonly sessions: ModelSessions,
    options: TextToVideoOptions = {},
  ) {
    this.pkg = sessions.pkg;
    this.options = {
      maxBatch: options.maxBatch ?? DEFAULT_OPTIONS.maxBatch,
      uncondCacheSize: options.uncondCacheSize ?? DEFAULT_OPTIONS.uncondCacheSize,
      previewMinIntervalMs: options.previewMinIntervalMs,
    };
    this.guidancePasses = options.guidancePasses ?? this.pkg.config.guidance_passes;
    const maxBatch = this.guidancePasses === 2 ? 1 : this.options.maxBatch;
    this.maxBatch = maxBatch;
    this.styles = options.styleSessions;
    const batcher = (component: Denoiser) => new DenoiseBatcher((feeds) => this.sessions.run(component, feeds), maxBatch);
    this.batchers = { denoiser: batcher('denoiser'), denoiser_2: this.pkg.onnx.denoiser_2 ? batcher('denoiser_2') : undefined };
  }

  /** Step batching of the (first) transformer. */
  get batchStats() {
    return this.batchers.denoiser!.stats;
  }

  /** Step batching of transformer_2, when the package has one. */
  get batchStats2() {
    return this.batchers.denoiser_2?.stats;
  }

  /** Whether `params.image` can be given: the package has a vae_encoder/ to put it into the first latent frame. */
  get acceptsImage(): boolean {
    return acceptsImage(this.pkg);
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
    const data = out.data as Float32Array;
    if (this.pkg.config.zero_text_padding) {
      const lengths = texts.map((_, i) => mask.subarray(i * L, (i + 1) * L).reduce((n, m) => n + Number(m), 0));
      zeroPastLength(data, lengths, out.dims[1] ?? L, out.dims[2] ?? data.length / (texts.length * L));
    }
    return data;
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
    // The trained preview decoder (preview/model.onnx) first: it looks like the clip. Then the latent→RGB factors
    // (blocks at latent size), then the full VAE decoder (right, but a decode's cost per preview).
    const factors = this.pkg.previewFactors;
    if (factors && !this.pkg.onnx.preview_decoder) {
      const scale = Math.max(1, Math.floor(params.previewMaxSide / Math.max(shape.height, shape.width)));
      return latentToPreviewFrames(z, shape, factors, scale);
    }
    const out = this.pkg.onnx.preview_decoder
      ? await this.runComponent('preview_decoder', { latent_sample: { type: 'float32', dims: [1, shape.channels, shape.frames, shape.height, shape.width], data: z } }, timings)
      : await this.runVaeDecoder(z, shape, timings);
    const [, , f, h, w] = out.dims as [number, number, number, number, number];
    return decodedToFrames(out.data as Float32Array, f, h, w);
  }

  /** `z` (decoder space) through vae_decoder: whole, or in spatial tiles when the package's decoder_tiling says so. */
  private async runVaeDecoder(z: Float32Array, shape: LatentShape, timings: TextToVideoTimings): Promise<{ data: Float32Array; dims: readonly number[] }> {
    const dims = [1, shape.channels, shape.frames, shape.height, shape.width] as [number, number, number, number, number];
    const decodeTile = async (data: Float32Array, tileDims: [number, number, number, number, number]) => {
      const out = await this.runComponent('vae_decoder', { latent_sample: { type: 'float32', dims: tileDims, data } }, timings);
      return { data: out.data as Float32Array, dims: out.dims };
    };
    // A large clip in spatial tiles: one tile's activations alive at a time (inference/pipeline/tiled-decode.ts).
    const tiling = this.pkg.config.decoder_tiling;
    return needsTiles(shape.height, shape.width, tiling) ? decodeInTiles(z, dims, this.pkg.config.vae_scale_factor_spatial, tiling, decodeTile) : decodeTile(z, dims);
  }

  /** One clip: the prompt encoded, `params.steps` denoising steps (batched with other jobs' steps), decoded. */
  async run(params: TextToVideoParams, hooks: TextToVideoHooks = {}): Promise<TextToVideoResult> {
    const timings: TextToVideoTimings = { textEncodeMs: 0, imageEncodeMs: 0, denoiseMs: 0, decodeMs: 0, firstPreviewMs: 0, sessionRunMs: 0 };
    const t0 = performance.now();
    this.checkParams(params);
    const guidance = this.guidanceScales(params);
    const needUncond = guidance.some((g) => g !== 1);
    throwIfAborted(hooks.signal);
    const unknownWords = this.pkg.tokenizer.unknownWords(params.prompt);
    const { cond, uncond } = await this.encodePrompt(params.prompt, params.negativePrompt, needUncond, timings);
    const shape = this.latentShape(params);
    const firstFrame = params.image ? await this.encodeImage(params.image, shape, timings) : undefined;

    const denoiseStarted = performance.now();
    const styled = await this.styledBatcher(params.style);
    let x: Float32Array;
    try {
      x = await this.denoise(params, hooks, { cond, uncond, guidance, shape, firstFrame, timings, t0, styled: styled?.batcher });
    } finally {
      styled?.release();
    }
    timings.denoiseMs = performance.now() - denoiseStarted;
    throwIfAborted(hooks.signal);

    const decodeStarted = performance.now();
    const video = await this.decode(x, shape, params.frames, timings);
    timings.decodeMs = performance.now() - decodeStarted;
    return { video, unknownWords, timings };
  }

  /**
   * The step batcher of the styled transformer `style` asks for, holding its session until released; undefined for
   * the base model (no style, or strength 0, whose merge is the base weights bit for bit).
   */
  private async styledBatcher(style: StyleChoice | undefined): Promise<{ batcher: DenoiseBatcher; release(): void } | undefined> {
    if (!style || style.strength === 0) return undefined;
    this.styles ??= new StyleSessionCache(this.sessions.styleHost);
    const lease = await this.styles.acquire(this.pkg, style.name, style.strength);
    let entry = this.styledBatchers.get(lease.key);
    if (!entry) {
      entry = { batcher: new DenoiseBatcher((feeds) => this.sessions.runKey(lease.key, feeds), this.maxBatch), users: 0 };
      this.styledBatchers.set(lease.key, entry);
    }
    entry.users += 1;
    const held = entry;
    return {
      batcher: held.batcher,
      release: () => {
        held.users -= 1;
        if (held.users === 0) this.styledBatchers.delete(lease.key);
        lease.release();
      },
    };
  }

  /** What the request validation may not have caught (CLIs and the bench call the pipeline directly). */
  private checkParams(params: TextToVideoParams): void {
    const c = this.pkg.config;
    if (params.style) {
      const { name, strength } = params.style;
      findStyle(this.pkg, name);
      if (!Number.isFinite(strength) || strength < MIN_STYLE_STRENGTH || strength > MAX_STYLE_STRENGTH) throw new InvalidArgumentError('style_strength', `${strength} is out of range; allowed: a number from ${MIN_STYLE_STRENGTH} to ${MAX_STYLE_STRENGTH}`);
    }
    const [, ph, pw] = c.patch_size;
    for (const [field, side, patch] of [['width', params.width, pw], ['height', params.height, ph]] as const) {
      const grid = c.vae_scale_factor_spatial * patch;
      if (!Number.isInteger(side) || side <= 0 || side % grid !== 0) throw new InvalidArgumentError(field, `${side} is not a multiple of ${grid} (vae_scale_factor_spatial ${c.vae_scale_factor_spatial} × patch ${patch}); allowed: multiples of ${c.limits.size_multiple}`);
    }
    const image = params.image;
    if (!image) return;
    if (!this.acceptsImage) throw new InvalidArgumentError('image', `model "${this.pkg.name}" cannot start from an image: its package has no vae_encoder/ (send the request without an image, or pick a model that takes one)`);
    if (image.width !== params.width || image.height !== params.height) throw new InvalidArgumentError('image', `is ${image.width}×${image.height} but the clip is ${params.width}×${params.height}; the image must be fitted to the clip's size first`);
    if (image.rgb.length !== image.width * image.height * 3) throw new InvalidArgumentError('image', `holds ${image.rgb.length} bytes; ${image.width}×${image.height} RGB needs ${image.width * image.height * 3}`);
  }

  /** [first transformer's guidance, transformer_2's guidance] (the second equals the first without transformer_2). */
  private guidanceScales(params: TextToVideoParams): [number, number] {
    const g = params.guidanceScale;
    if (!this.pkg.onnx.denoiser_2) return [g, g];
    return [g, params.guidanceScale2 ?? this.pkg.config.guidance_scale_2 ?? g];
  }

  /** The image through vae_encoder (sample [1, 3, 1, H·s, W·s]) into a normalised latent frame [C, H, W]. */
  private async encodeImage(image: NonNullable<TextToVideoParams['image']>, shape: LatentShape, timings: TextToVideoTimings): Promise<Float32Array> {
    const started = performance.now();
    const sample = { type: 'float32' as const, dims: [1, 3, 1, image.height, image.width], data: rgbToSample(image.rgb, image.width, image.height) };
    const out = await this.runComponent('vae_encoder', { sample }, timings);
    const want = [1, shape.channels, 1, shape.height, shape.width];
    if (out.dims.length !== 5 || out.dims.some((d, i) => d !== want[i])) {
      throw new InferenceFailedError(`vae_encoder returned [${out.dims.join(', ')}] for a ${image.width}×${image.height} image, expected [${want.join(', ')}]`);
    }
    const { latents_mean: mean, latents_std: std } = this.pkg.config;
    const frame = normaliseLatent(out.data as Float32Array, shape.channels, mean, std);
    timings.imageEncodeMs = performance.now() - started;
    return frame;
  }

  /** Which transformer denoises at scheduler timestep `t`: the second below boundary_ratio × num_train_timesteps. */
  private expertAt(t: number): Denoiser {
    const ratio = this.pkg.config.boundary_ratio;
    if (ratio === undefined || !this.batchers.denoiser_2) return 'denoiser';
    const trainSteps = Number(this.pkg.schedulerConfig.num_train_timesteps ?? 1000);
    return t >= ratio * trainSteps ? 'denoiser' : 'denoiser_2';
  }

  /** The denoising loop from seeded noise to the final latent, with guidance, step hooks and previews. */
  private async denoise(params: TextToVideoParams, hooks: TextToVideoHooks, ctx: DenoiseContext): Promise<Float32Array> {
    const { cond, uncond, guidance, shape, firstFrame, timings, t0 } = ctx;
    const latentDims = [shape.channels, shape.frames, shape.height, shape.width];
    const n = latentDims.reduce((a, b) => a * b, 1);
    const scheduler = createScheduler(this.pkg.schedulerConfig, params.steps, params.scheduler);
    const perToken = this.pkg.config.timestep_shape === 'tokens';
    const patch = this.pkg.config.patch_size;
    const tokens = perToken ? tokenCount(shape, patch) : 1;
    const timestepDims = perToken ? [tokens] : [];
    const both = uncond ? concat2(cond, uncond) : cond;

    let x = gaussianNoise(params.seed, n);
    if (firstFrame) pinFirstFrame(x, firstFrame, shape);
    // Buffers reused across steps (the worker receives copies, the scheduler keeps none of them): less garbage per step.
    const hidden2 = new Float32Array(2 * n);
    const step = new Float32Array(tokens);
    const step2 = new Float32Array(2 * tokens);
    const velocity = new Float32Array(n);
    const pacer = new PreviewPacer({ steps: params.steps, every: hooks.onPreview ? params.previewEvery : 0, minIntervalMs: params.previewMinIntervalMs ?? this.options.previewMinIntervalMs, now: hooks.now });
    for (let i = 0; i < params.steps; i++) {
      throwIfAborted(hooks.signal);
      const t = scheduler.timesteps[i]!;
      const expert = this.expertAt(t);
      const batcher = expert === 'denoiser' && ctx.styled ? ctx.styled : this.batchers[expert]!;
      const g = guidance[expert === 'denoiser' ? 0 : 1];
      const guided = g !== 1 && uncond !== undefined;
      if (perToken) fillTokenTimesteps(step, t, shape, patch, firstFrame !== undefined);
      else step[0] = t;
      const call = (hiddenStates: Float32Array, timesteps: Float32Array, text: Float32Array, batch: number) =>
        batcher.denoise({ hiddenStates, timesteps, encoderHiddenStates: text, batch }, latentDims, this.textDims, timestepDims);
      let vc: Float32Array;
      let vu: Float32Array | undefined;
      if (!guided) {
        const r = await call(x, step, cond, 1);
        timings.sessionRunMs += r.runMs;
        vc = r.output;
      } else if (this.guidancePasses === 1) {
        hidden2.set(x);
        hidden2.set(x, n);
        step2.set(step);
        step2.set(step, tokens);
        const r = await call(hidden2, step2, both, 2);
        timings.sessionRunMs += r.runMs;
        vc = r.output.subarray(0, n);
        vu = r.output.subarray(n, 2 * n);
      } else {
        // Two passes, as diffusers runs Wan: the same latent and timesteps, cond then uncond text.
        const [rc, ru] = await Promise.all([call(x, step, cond, 1), call(x, step, uncond!, 1)]);
        timings.sessionRunMs += rc.runMs + ru.runMs;
        vc = rc.output;
        vu = ru.output;
      }
      if (vu) for (let k = 0; k < n; k++) velocity[k] = vu[k]! + g * (vc[k]! - vu[k]!);
      else velocity.set(vc.subarray(0, n));
      const { next, x0 } = scheduler.step(i, velocity, x);
      x = next;
      if (firstFrame) {
        // The image frame is clean at every step: the scheduler's update of it is discarded (diffusers does the same).
        pinFirstFrame(x, firstFrame, shape);
        pinFirstFrame(x0, firstFrame, shape);
      }
      hooks.onStep?.(i + 1, params.steps);
      if (hooks.onPreview && pacer.due(i + 1)) {
        const frames = await this.preview(x0, shape, params, timings);
        if (timings.firstPreviewMs === 0) timings.firstPreviewMs = performance.now() - t0;
        hooks.onPreview(i + 1, params.steps, frames);
      }
    }
    return x;
  }

  /** The final latent through the VAE decoder into RGB frames, `frames` of them. */
  private async decode(x: Float32Array, shape: LatentShape, frames: number, timings: TextToVideoTimings): Promise<RgbFrames> {
    const decoded = await this.runVaeDecoder(this.toDecoderSpace(x, shape), shape, timings);
    const [, , f, h, w] = decoded.dims as [number, number, number, number, number];
    // Causal temporal decoders may produce a few more frames than asked; keep the requested count.
    const video = decodedToFrames(decoded.data as Float32Array, f, h, w);
    if (video.frames.length > frames) video.frames.length = frames;
    return video;
  }
}

/** What the denoising loop of one run needs from the steps before it. */
interface DenoiseContext {
  /** [L, D] text embedding of the prompt. */
  cond: Float32Array;
  /** [L, D] of the negative prompt, when some step is guided. */
  uncond: Float32Array | undefined;
  /** Guidance of the first transformer's steps and of transformer_2's. */
  guidance: [number, number];
  shape: LatentShape;
  /** The image as latent frame 0 [C, H, W], normalised (image-to-video). */
  firstFrame: Float32Array | undefined;
  timings: TextToVideoTimings;
  /** When the run started (performance.now()), for the time to the first preview. */
  t0: number;
  /** The styled transformer's batcher, standing in for the first transformer's; undefined: the base model. */
  styled: DenoiseBatcher | undefined;
}

function concat2(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
