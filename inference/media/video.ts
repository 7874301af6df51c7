/**
 * The in-memory video handed to the encoders, and its validation. Frames are packed RGB24 (row-major, 3 bytes per
 * pixel, no row padding) because that is what the VAE decoder's output becomes after clamping, and what ffmpeg's
 * rawvideo demuxer reads without any conversion.
 */
import { InvalidVideoError } from './errors.ts';

export interface RgbVideo {
  width: number;
  height: number;
  /** Frames per second; any finite number > 0 (fractional rates such as 7.5 are fine). */
  fps: number;
  /** Each exactly width*height*3 bytes of RGB24. */
  frames: Uint8Array[];
}

/** Largest side accepted, before upscaling: far above any model output, low enough to catch swapped arguments. */
export const MAX_VIDEO_SIDE = 4096;
/** Frame rates beyond this are surely a unit mistake (ms per frame passed as fps, …). */
export const MAX_VIDEO_FPS = 240;

/** Throws InvalidVideoError naming the first thing wrong with `video`. */
export function assertValidVideo(video: RgbVideo): void {
  if (typeof video !== 'object' || video === null) {
    throw new InvalidVideoError('Video must be an object { width, height, fps, frames }.');
  }
  assertSide('width', video.width);
  assertSide('height', video.height);
  if (typeof video.fps !== 'number' || !Number.isFinite(video.fps) || video.fps <= 0 || video.fps > MAX_VIDEO_FPS) {
    throw new InvalidVideoError(`Video fps is ${String(video.fps)}; it must be a number > 0 and ≤ ${MAX_VIDEO_FPS}.`);
  }
  if (!Array.isArray(video.frames) || video.frames.length === 0) {
    throw new InvalidVideoError('Video has no frames; at least 1 frame is required.');
  }
  const expected = video.width * video.height * 3;
  video.frames.forEach((frame, index) => {
    if (!(frame instanceof Uint8Array)) {
      throw new InvalidVideoError(`Video frame ${index} is not a Uint8Array of RGB24 bytes.`);
    }
    if (frame.byteLength !== expected) {
      throw new InvalidVideoError(
        `Video frame ${index} has ${frame.byteLength} bytes; expected ${expected} ` +
          `(${video.width}x${video.height} pixels × 3 bytes of RGB24).`,
      );
    }
  });
}

function assertSide(name: 'width' | 'height', value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_VIDEO_SIDE) {
    throw new InvalidVideoError(`Video ${name} is ${String(value)}; it must be an integer from 1 to ${MAX_VIDEO_SIDE}.`);
  }
}

/** The frames as one Node Buffer view each (no copies), ready to be piped into ffmpeg's stdin. */
export function frameBuffers(video: RgbVideo): Buffer[] {
  return video.frames.map((frame) => Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
}
