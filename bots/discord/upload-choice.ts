// What to post for a clip under Discord's upload limit, never dropping it. The daemon already made the clip fit the
// limit the request carried (GenerateRequest.max_clip_bytes, daemonFitBytes() of the upload limit so the whole request
// fits: lower quality, then smaller sizes, from its frames), so
// this only chooses: the clip as it came, saying how it was fitted; else a smaller format the daemon also sent; else a
// link from the configured linker; else a message saying what to ask for. Platform logic only: no media code here.
import type { ClipFile, ClipFit, ClipInfo } from '../core/adapter.ts';
import { PlatformError } from '../core/errors.ts';
import { megabytes } from '../core/format.ts';

/** Publishes a clip somewhere people can open it and returns the URL (for clips no encoding can fit). */
export type ClipLinker = (clip: ClipFile, info: ClipInfo) => Promise<string>;

export type UploadChoice =
  | { kind: 'file'; data: Buffer; fileName: string; mimeType: string; width: number; height: number; notes: string[] }
  | { kind: 'link'; url: string; notes: string[] };

/**
 * How far under the interaction's attachment limit the daemon is asked to fit a clip (GenerateRequest.max_clip_bytes).
 * Discord measures the whole multipart request (the JSON payload, the part headers, the file), not the file alone, and
 * only the daemon holds the frames: a clip fitted to exactly the limit can be refused with 413 and cannot be re-fitted
 * here. So the daemon gets `ratio` of the limit less `overheadBytes` for the rest of the request; should that leave
 * less than `floorRatio` of the limit (tiny limits), it gets that much instead.
 */
export const DAEMON_FIT_HEADROOM = { ratio: 0.95, overheadBytes: 8 * 1024, floorRatio: 0.5 } as const;

/** The byte budget the daemon fits a clip to for an upload limit of `limitBytes` (see DAEMON_FIT_HEADROOM). */
export function daemonFitBytes(limitBytes: number): number {
  const { ratio, overheadBytes, floorRatio } = DAEMON_FIT_HEADROOM;
  return Math.max(1, Math.floor(limitBytes * ratio) - overheadBytes, Math.floor(limitBytes * floorRatio));
}

export interface UploadChoiceOptions {
  /** The largest upload for this job. */
  limitBytes: number;
  /** Where clips that fit no upload go; without one, such a clip ends in a PlatformError 'clip_too_large'. */
  linker?: ClipLinker | undefined;
  /**
   * Set when Discord refused an upload of this many bytes although it was within limitBytes: only something smaller
   * can go, and the note says Discord refused it rather than quoting a limit that proved wrong.
   */
  refusedBytes?: number | undefined;
}

/** How the daemon fitted it, in the words of the note next to the clip. */
function howFitted(fit: ClipFit): string {
  return fit.downscale === 1 ? 're-encoded at lower quality' : `re-encoded at 1/${fit.downscale} size`;
}

export async function chooseUpload(clip: ClipFile, info: ClipInfo, options: UploadChoiceOptions): Promise<UploadChoice> {
  const { linker, refusedBytes } = options;
  const limitBytes = refusedBytes !== undefined ? Math.min(options.limitBytes, refusedBytes - 1) : options.limitBytes;
  const made = clip.fit?.originalBytes ?? clip.data.length;
  const over =
    refusedBytes !== undefined
      ? `Discord refused the clip (${megabytes(refusedBytes)}) as over this server's upload limit`
      : made > limitBytes
        ? `The clip (${megabytes(made)}) is over this server's upload limit of ${megabytes(limitBytes)}`
        : // Fitted for the headroom alone (DAEMON_FIT_HEADROOM): it was under the limit, but too close to it.
          `The clip (${megabytes(made)}) is too close to this server's upload limit of ${megabytes(limitBytes)}`;
  // Re-encoded, and (checked below) within the real limit: also a clip the daemon flagged over_limit, since it was
  // fitted to the smaller budget with headroom (daemonFitBytes) and can still fit the limit itself.
  const fitted = clip.fit !== undefined && (clip.fit.qualityStep > 0 || clip.fit.downscale > 1);

  if (clip.data.length <= limitBytes) {
    const notes = fitted && clip.fit ? [`${over}, so it was ${howFitted(clip.fit)} (${megabytes(clip.data.length)}).`] : [];
    return { kind: 'file', data: clip.data, fileName: clip.fileName, mimeType: clip.mimeType, width: clip.width, height: clip.height, notes };
  }
  const ready = info.alternatives.filter((a) => a.data.length <= limitBytes).sort((a, b) => a.format === 'mp4' ? -1 : b.format === 'mp4' ? 1 : 0)[0];
  if (ready) {
    return { kind: 'file', data: ready.data, fileName: ready.fileName, mimeType: ready.mimeType, width: ready.width, height: ready.height, notes: [`${over}, so here it is as ${ready.format.toUpperCase()}.`] };
  }
  const reencoded = clip.fit !== undefined;
  if (linker) {
    const url = await linker(clip, info);
    return { kind: 'link', url, notes: [reencoded ? `${over} even re-encoded, so here is a link.` : `${over}, so here is a link.`] };
  }
  throw new PlatformError(
    `${over}${reencoded ? ', and even re-encoded at the smallest size it does not fit' : ''}. Ask for fewer frames or a smaller size.`,
    'clip_too_large',
  );
}
