// Making a clip fit the upload limit, never dropping it: as made when it fits; else a smaller format the daemon
// already sent; else re-encoded at lower quality (MP4, then GIF); else at half the size, again and again; and only
// when even that fails, a link from the configured linker. Each step is said next to the clip.
import { decodeFrames, encodeClip, isMediaError, type RgbVideo } from '../../inference/media/index.ts';
import type { ClipFile, ClipInfo } from '../core/adapter.ts';
import { PlatformError } from '../core/errors.ts';

/** Publishes a clip somewhere people can open it and returns the URL (for clips no encoding can fit). */
export type ClipLinker = (clip: ClipFile, info: ClipInfo) => Promise<string>;

export type FittedClip =
  | { kind: 'file'; data: Buffer; fileName: string; mimeType: string; width: number; height: number; notes: string[] }
  | { kind: 'link'; url: string; notes: string[] };

/** Smallest side we shrink to before giving up on re-encoding. */
const MIN_SIDE = 16;

export function megabytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

const renamed = (fileName: string, ext: string) => fileName.replace(/\.[a-z0-9]+$/i, '') + `.${ext}`;

export async function fitClip(clip: ClipFile, info: ClipInfo, limitBytes: number, linker?: ClipLinker): Promise<FittedClip> {
  if (clip.data.length <= limitBytes) {
    return { kind: 'file', data: clip.data, fileName: clip.fileName, mimeType: clip.mimeType, width: clip.width, height: clip.height, notes: [] };
  }
  const over = `The clip (${megabytes(clip.data.length)}) is over this server's upload limit of ${megabytes(limitBytes)}`;
  const ready = info.alternatives.filter((a) => a.data.length <= limitBytes).sort((a, b) => a.format === 'mp4' ? -1 : b.format === 'mp4' ? 1 : 0)[0];
  if (ready) {
    return { kind: 'file', data: ready.data, fileName: ready.fileName, mimeType: ready.mimeType, width: ready.width, height: ready.height, notes: [`${over}, so here it is as ${ready.format.toUpperCase()}.`] };
  }

  let video: RgbVideo | undefined;
  try {
    video = await decodeFrames(clip.data, clip.format);
  } catch (error) {
    if (!linker) throw new PlatformError(`${over}, and it could not be re-encoded (${(error as Error).message}).`, 'clip_too_large', { cause: error });
  }
  for (let scale = 1; video && Math.min(video.width, video.height) >= MIN_SIDE; scale *= 2) {
    for (const format of ['mp4', 'gif'] as const) {
      try {
        const encoded = await encodeClip(video, { format, maxBytes: limitBytes });
        const how = scale === 1 ? (format === 'mp4' ? 're-encoded at lower quality' : 'sent as a GIF') : `re-encoded at 1/${scale} size${format === 'gif' ? ' as a GIF' : ''}`;
        return {
          kind: 'file',
          data: encoded.data,
          fileName: renamed(clip.fileName, format),
          mimeType: encoded.mimeType,
          width: encoded.width,
          height: encoded.height,
          notes: [`${over}, so it was ${how} (${megabytes(encoded.data.length)}).`],
        };
      } catch (error) {
        if (!isMediaError(error) || error.code !== 'OUTPUT_TOO_LARGE') throw error;
      }
    }
    video = halve(video);
  }
  if (linker) {
    const url = await linker(clip, info);
    return { kind: 'link', url, notes: [`${over} even re-encoded, so here is a link.`] };
  }
  throw new PlatformError(`${over}, and even re-encoded down to ${MIN_SIDE} px it does not fit. Ask for fewer frames or a smaller size.`, 'clip_too_large');
}

/** Half the width and height, each output pixel the mean of a 2×2 block (sides rounded down, at least 1). */
export function halve(video: RgbVideo): RgbVideo {
  const width = Math.max(1, Math.floor(video.width / 2));
  const height = Math.max(1, Math.floor(video.height / 2));
  const frames = video.frames.map((frame) => {
    const out = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) {
            const sy = Math.min(video.height - 1, 2 * y + dy);
            const sx = Math.min(video.width - 1, 2 * x + dx);
            sum += frame[(sy * video.width + sx) * 3 + c] ?? 0;
          }
          out[(y * width + x) * 3 + c] = Math.round(sum / 4);
        }
      }
    }
    return out;
  });
  return { width, height, fps: video.fps, frames };
}
