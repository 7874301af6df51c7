// One image-to-video clip of the eval, made and measured: the world's first frame attached as a PNG to the same
// prompt and seed as a text-to-video clip, the result scored by the same checks, its first frame's PSNR against the
// image as the daemon fitted it, and the two figures that frame the PSNR (the text-to-video clip's first frame, which
// no conditioning gives; the image through the delivery codec alone, which bounds every clip).
import { decodeFrames, encodeClip } from '../../inference/media/index.ts';
import { decodeImageInput } from '../../inference/media/image-input.ts';
import { judgeClip, type Frames } from './checks.ts';
import { generateClip, type GenerateOptions } from './generate.ts';
import type { ImageClip } from './image-to-video.ts';
import { encodePng } from './png.ts';
import { psnr, type RgbFrame } from './psnr.ts';
import { score } from './report.ts';
import type { EvalCase, World } from './world.ts';

/** The clip's first frame as an RgbFrame. */
export function firstFrame(clip: Frames): RgbFrame {
  const rgb = clip.frames[0];
  if (!rgb) throw new Error('the clip has no frames');
  return { width: clip.width, height: clip.height, rgb };
}

/**
 * What the clip should start from: the image itself when the clip has its size, else the image fitted to the clip
 * the way the daemon fits it (centre crop, inference/media/image-input.ts), so a model of another size is measured
 * against what it was given.
 */
export async function referenceAt(image: RgbFrame, png: Uint8Array, width: number, height: number): Promise<RgbFrame> {
  if (image.width === width && image.height === height) return image;
  const fitted = await decodeImageInput(png, { mimeType: 'image/png', width, height, fit: 'crop' });
  return { width, height, rgb: fitted.rgb };
}

/** PSNR of `frame` after an MP4 encode and decode as the daemon delivers clips: the ceiling of any clip's figure. */
export async function codecCeiling(frame: RgbFrame, fps = 8): Promise<number> {
  const encoded = await encodeClip({ width: frame.width, height: frame.height, fps, frames: [frame.rgb] }, { format: 'mp4' });
  const decoded = await decodeFrames(encoded.data, 'mp4');
  return psnr(firstFrame(decoded), frame);
}

export interface ImageClipRequest {
  address: string;
  world: World;
  case: EvalCase;
  /** The rendered first frame to attach. */
  image: RgbFrame;
  /** The text-to-video clip of the same prompt and seed. */
  textClip: Frames;
  generate: Omit<GenerateOptions, 'image' | 'imageMimeType' | 'prompt'>;
}

export async function imageClip(r: ImageClipRequest): Promise<{ measured: ImageClip; clip: Frames }> {
  const png = encodePng(r.image.width, r.image.height, r.image.rgb);
  const clip = await generateClip(r.address, { ...r.generate, prompt: r.case.prompt, image: png, imageMimeType: 'image/png' });
  const reference = await referenceAt(r.image, png, clip.width, clip.height);
  const textReference = await referenceAt(r.image, png, r.textClip.width, r.textClip.height);
  return {
    clip,
    measured: {
      scored: score(r.case, judgeClip(r.world, clip)),
      psnr: psnr(firstFrame(clip), reference),
      textPsnr: psnr(firstFrame(r.textClip), textReference),
      // Of the reference at the clip's size, since that is what the clip's first frame is measured against.
      codecPsnr: await codecCeiling(reference),
    },
  };
}
