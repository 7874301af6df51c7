// Runs one job: the request's image (image-to-video) decoded and fitted to the clip's size, the text-to-video loop on
// the model's pipeline, previews encoded alongside it, the final clip encoded in each requested format (fitted to the
// request's max_clip_bytes from the frames: media/fit.ts) and streamed in small chunks (CLIP_CHUNK_BYTES), and the
// clip's last frame as a PNG in Done (what Extend sends back as the next request's image).
import { encodePreview } from '../media/encode.ts';
import { encodeRaw } from '../media/encode-raw.ts';
import { decodeImageInput, ImageInputError, type FittedImage } from '../media/image-input.ts';
import { fitClip } from '../media/fit.ts';
import { isMediaError } from '../media/errors.ts';
import type { ClipProvenance } from '../media/provenance.ts';
import type { Watermark } from '../media/watermark.ts';
import { asDaemonError, EncodeFailedError, InvalidArgumentError } from '../errors.ts';
import type { TextToVideo } from '../pipeline/text-to-video.ts';
import type { RgbFrames } from '../pipeline/frames.ts';
import type { Job } from './job.ts';
import { CLIP_FORMAT_TO_WIRE } from '../../shared/wire/formats.ts';
import type { ClipChunk } from '../../shared/rpc/types.ts';

/**
 * Clip bytes per ClipChunk message. Small, because a stream holds about one chunk in flight (event-stream.ts): with
 * 64 KiB, hundreds of streams whose peers do not read cost the daemon megabytes, not hundreds of them. Receivers
 * reassemble by offset, so the size is not part of the contract.
 */
export const CLIP_CHUNK_BYTES = 64 * 1024;

export interface GenerationReport {
  sessionRunMs: number;
  encodeMs: number;
  totalMs: number;
  firstPreviewMs: number;
}

/**
 * Keeps at most one preview encode running; while one runs, only the newest waiting estimate is kept, so slow
 * previews never hold back the denoising loop and never pile up.
 */
class PreviewPump {
  private running: Promise<void> | undefined;
  private waiting: { step: number; total: number; frames: RgbFrames } | undefined;
  firstSentMs = 0;

  /** Set once a preview was flagged by the screen: no later preview of this job is sent. */
  private stopped = false;

  constructor(private readonly job: Job, private readonly t0: number, private readonly screen?: (frames: RgbFrames) => Promise<boolean>) {}

  /** A preview spans the clip's time whatever its frame count (17 from a preview decoder, 5 latent frames). */
  private fpsOf(frames: RgbFrames): number {
    const { fps, frames: clipFrames } = this.job.spec;
    return Math.min(fps, Math.max(1, (fps * frames.frames.length) / Math.max(1, clipFrames)));
  }

  offer(step: number, total: number, frames: RgbFrames): void {
    this.waiting = { step, total, frames };
    if (!this.running) this.running = this.drain();
  }

  private async drain(): Promise<void> {
    while (this.waiting && !this.job.abort.signal.aborted && !this.stopped) {
      const { step, total, frames } = this.waiting;
      this.waiting = undefined;
      const { format, maxSide } = this.job.spec.preview;
      try {
        if (this.screen && !(await this.screen(frames))) {
          this.stopped = true;
          break;
        }
        const image = await encodePreview({ ...frames, fps: this.fpsOf(frames) }, { format, maxSide, signal: this.job.abort.signal });
        if (this.job.finished) return;
        this.job.emit({ preview: { step, totalSteps: total, image: image.data, mimeType: image.mimeType, width: image.width, height: image.height, frames: image.frames } });
        if (!this.firstSentMs) this.firstSentMs = performance.now() - this.t0;
      } catch {
        // A failed preview is not worth failing the clip for; the next one may succeed.
      }
    }
    this.running = undefined;
  }

  async settle(): Promise<void> {
    this.waiting = undefined;
    await this.running;
  }
}

/** A finished clip of one format, as its ClipChunk events describe it (a cluster worker stores it in a blob store). */
export interface FinishedClip {
  format: NonNullable<ClipChunk['format']>;
  mimeType: string;
  data: Uint8Array;
  width: number;
  height: number;
  frames: number;
  fps: number;
  fit: NonNullable<ClipChunk['fit']> | null;
}

/** Streams one clip as ClipChunk events of CLIP_CHUNK_BYTES (an empty clip is one empty last chunk). */
export function emitClipChunks(job: Job, clip: FinishedClip): void {
  const { data, ...about } = clip;
  for (let offset = 0; offset < data.length || offset === 0; offset += CLIP_CHUNK_BYTES) {
    job.emit({ clip: { ...about, data: data.subarray(offset, offset + CLIP_CHUNK_BYTES), offset, totalBytes: data.length, last: offset + CLIP_CHUNK_BYTES >= data.length } });
    if (data.length === 0) break;
  }
}

/**
 * The request's image decoded and fitted (centre crop) to the clip's width × height. A problem with it is the
 * requester's: INVALID_ARGUMENT naming the field, as at admission (validate.ts checked the limits; only decoding is
 * left to fail here).
 */
async function fittedImage(job: Job): Promise<FittedImage | undefined> {
  const { inputImage, width, height } = job.spec;
  if (!inputImage) return undefined;
  try {
    return await decodeImageInput(inputImage.data, { mimeType: inputImage.mimeType, width, height, fit: 'crop', signal: job.abort.signal });
  } catch (err) {
    if (job.abort.signal.aborted) throw job.abort.signal.reason;
    if (err instanceof ImageInputError) throw new InvalidArgumentError(err.field, err.message);
    throw asDaemonError(err);
  }
}

/**
 * The clip's last frame as a PNG at the generated size (before any upscale or fitting: the size a follow-up request
 * for the same clip size asks for), for Done.last_frame. Best compression, since it rides in the Done message. An
 * empty buffer when it cannot be made: the clip is already delivered, and only Extend needs the frame.
 */
async function lastFramePng(video: { width: number; height: number; frames: Uint8Array[] }, signal: AbortSignal): Promise<Uint8Array> {
  const last = video.frames[video.frames.length - 1];
  if (!last) return new Uint8Array(0);
  try {
    return await encodeRaw(
      { width: video.width, height: video.height, fps: 1, frames: [last] },
      { filterGraph: '', outputOptions: ['-frames:v', '1', '-c:v', 'png', '-pred', 'mixed', '-compression_level', '9', '-f', 'image2'], extension: 'png', what: 'Last-frame PNG encode', signal },
    );
  } catch {
    if (signal.aborted) throw signal.reason;
    return new Uint8Array(0);
  }
}

/** What the daemon adds to every final clip besides the request's own marks (its provenance): the operator's watermark. */
export interface GenerationOptions {
  watermark?: Watermark | undefined;
  /** Write the prompt and negative prompt into the MP4's metadata too (ANIMATE_PROVENANCE_PROMPTS). Default false. */
  provenancePrompts?: boolean | undefined;
  /**
   * Looks at the decoded clip before any of it is encoded or sent (the output safety check, inference/safety/):
   * throwing ends the job with that error and nothing of the clip leaves the daemon. Default: none.
   */
  screenClip?: ((video: RgbFrames) => Promise<void>) | undefined;
  /**
   * Looks at a preview's frames before it is encoded and sent; false drops it and every later preview of the job
   * (a flagged x0 estimate says the clip is heading there). Default: every preview is sent.
   */
  screenPreview?: ((frames: RgbFrames) => Promise<boolean>) | undefined;
}

/**
 * The clip's provenance (media/provenance.ts): written into the MP4 as metadata, never into a filter. The prompts only
 * with `prompts` (ANIMATE_PROVENANCE_PROMPTS).
 */
export function clipProvenance(spec: Job['spec'], pipeline: Pick<TextToVideo, 'pkg'>, prompts = false): ClipProvenance {
  return {
    model: pipeline.pkg.name, modelHash: pipeline.pkg.hash, seed: spec.seed, steps: spec.steps, guidanceScale: spec.guidanceScale, scheduler: spec.scheduler,
    width: spec.width, height: spec.height, frames: spec.frames, fps: spec.fps,
    ...(prompts ? { prompt: spec.prompt, negativePrompt: spec.negativePrompt } : {}),
    style: spec.style?.name ?? '', styleStrength: spec.style?.strength ?? 0, source: spec.inputImage ? 'image-to-video' : 'text-to-video',
  };
}

export async function runGeneration(job: Job, pipeline: TextToVideo, options: GenerationOptions = {}): Promise<GenerationReport> {
  const spec = job.spec;
  const t0 = performance.now();
  const signal = job.abort.signal;
  const image = await fittedImage(job);
  const previews = new PreviewPump(job, t0, options.screenPreview);
  const stepStarted = performance.now();
  let result;
  try {
    result = await pipeline.run(
      { ...spec, previewEvery: spec.preview.enabled ? spec.preview.everyNSteps : 0, previewMaxSide: spec.preview.maxSide, ...(image ? { image } : {}) },
      {
        signal,
        onStep: (step, total) => {
          const elapsed = (performance.now() - stepStarted) / 1000;
          job.emit({ progress: { step, totalSteps: total, elapsedSeconds: elapsed, etaSeconds: (elapsed / step) * (total - step), stage: 'denoise' } });
        },
        onPreview: (step, total, frames) => previews.offer(step, total, frames),
      },
    );
  } finally {
    await previews.settle();
  }
  // Before the encode: a withheld clip is never encoded, so no byte of it can reach a client or a blob store.
  if (options.screenClip) await options.screenClip(result.video);

  const encodeStarted = performance.now();
  job.emit({ progress: { step: spec.steps, totalSteps: spec.steps, elapsedSeconds: (encodeStarted - t0) / 1000, etaSeconds: 0, stage: 'encode' } });
  const video = { ...result.video, fps: spec.fps };
  const marks = { provenance: clipProvenance(spec, pipeline, options.provenancePrompts === true), watermark: options.watermark };
  for (const format of spec.formats) {
    let clip;
    try {
      clip = await fitClip(video, { format, upscale: spec.upscale, signal, maxBytes: spec.maxClipBytes, marks });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw asDaemonError(err, (m) => new EncodeFailedError(`encoding the ${format.toUpperCase()} failed: ${isMediaError(err) ? err.message : m}`));
    }
    emitClipChunks(job, { format: CLIP_FORMAT_TO_WIRE[format], mimeType: clip.mimeType, data: clip.data, width: clip.width, height: clip.height, frames: clip.frames, fps: clip.fps, fit: clip.fit ? { ...clip.fit } : null });
  }
  const lastFrame = await lastFramePng(result.video, signal);
  const encodeMs = performance.now() - encodeStarted;
  const totalMs = performance.now() - t0;
  const firstPreviewMs = previews.firstSentMs;
  job.emit({
    done: {
      seed: spec.seed, model: pipeline.pkg.name, modelHash: pipeline.pkg.hash, unknownWords: result.unknownWords, prompt: spec.prompt,
      steps: spec.steps, guidanceScale: spec.guidanceScale, frames: spec.frames, width: spec.width, height: spec.height, fps: spec.fps, scheduler: spec.scheduler, lastFrame,
      style: spec.style?.name ?? '', styleStrength: spec.style?.strength ?? 0,
      timings: {
        queuedMs: job.startedAt - job.createdAt, textEncodeMs: result.timings.textEncodeMs, denoiseMs: result.timings.denoiseMs,
        decodeMs: result.timings.decodeMs, encodeMs, totalMs, perStepMs: result.timings.denoiseMs / spec.steps, firstPreviewMs,
      },
    },
  });
  return { sessionRunMs: result.timings.sessionRunMs, encodeMs, totalMs, firstPreviewMs };
}
