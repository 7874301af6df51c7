// One generation through a running daemon, as any client makes it: collects the MP4 chunks and decodes them back
// into RGB frames. With `image` it is an image-to-video request (GenerateRequest.image), as a front-end sends one.
import { decodeFrames } from '../../inference/media/index.ts';
import { connectAnimator } from '../../shared/rpc/client.ts';
import type { Frames } from './checks.ts';

export interface GenerateOptions {
  prompt: string;
  seed: number;
  steps?: number;
  guidanceScale?: number;
  /** One of the daemon's schedulers (ModelInfo.schedulers); absent: the model's. */
  scheduler?: string;
  model?: string;
  /** Frame size (both or neither); absent: the model's default size. */
  width?: number;
  height?: number;
  /** Image-to-video: the encoded image (PNG, JPEG, WebP, GIF) the clip starts from, and its MIME type. */
  image?: Uint8Array;
  imageMimeType?: string;
  /** One of the model's styles (ModelInfo.styles) and its strength (absent: the base model; strength: the daemon's 1). */
  style?: string;
  styleStrength?: number;
}

export interface GeneratedClip extends Frames {
  /** Timings reported by the daemon (ms). */
  timings: { totalMs: number; denoiseMs: number; decodeMs: number; firstPreviewMs: number };
  unknownWords: string[];
  /** The MP4 as the daemon sent it (the contact sheet cuts its frames with ffmpeg). */
  mp4: Buffer;
}

export async function generateClip(address: string, options: GenerateOptions): Promise<GeneratedClip> {
  const client = connectAnimator(address);
  try {
    const chunks: Buffer[] = [];
    let timings = { totalMs: 0, denoiseMs: 0, decodeMs: 0, firstPreviewMs: 0 };
    let unknownWords: string[] = [];
    for await (const event of client.generate({
      prompt: options.prompt,
      seed: options.seed,
      ...(options.steps !== undefined ? { steps: options.steps } : {}),
      ...(options.guidanceScale !== undefined ? { guidanceScale: options.guidanceScale } : {}),
      ...(options.scheduler !== undefined ? { scheduler: options.scheduler } : {}),
      ...(options.model !== undefined ? { model: options.model } : {}),
      ...(options.width !== undefined && options.height !== undefined ? { width: options.width, height: options.height } : {}),
      ...(options.image !== undefined ? { image: options.image, imageMimeType: options.imageMimeType ?? '' } : {}),
      ...(options.style !== undefined ? { style: options.style } : {}),
      ...(options.styleStrength !== undefined ? { styleStrength: options.styleStrength } : {}),
      formats: ['MP4'],
    })) {
      if (event.clip) chunks.push(Buffer.from(event.clip.data));
      if (event.done) {
        const t = event.done.timings;
        timings = { totalMs: t?.totalMs ?? 0, denoiseMs: t?.denoiseMs ?? 0, decodeMs: t?.decodeMs ?? 0, firstPreviewMs: t?.firstPreviewMs ?? 0 };
        unknownWords = event.done.unknownWords;
      }
    }
    const mp4 = Buffer.concat(chunks);
    const video = await decodeFrames(mp4, 'mp4');
    return { width: video.width, height: video.height, frames: video.frames, timings, unknownWords, mp4 };
  } finally {
    client.close();
  }
}
