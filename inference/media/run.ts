/**
 * Running one ffmpeg process through fluent-ffmpeg: raw RGB24 frames in on stdin, abort by killing the process,
 * failures turned into MediaErrors that quote ffmpeg's stderr, and temp folders that are always removed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { getMediaBinaries } from './binaries.ts';
import { MediaAbortedError, type MediaError } from './errors.ts';
import { frameBuffers, type RgbVideo } from './video.ts';

export type FfmpegCommand = ffmpeg.FfmpegCommand;

/** Options every run gets: no banner, only real errors on stderr (so error messages quote the cause, not stats). */
const QUIET = ['-hide_banner', '-loglevel', 'error', '-nostats'];

/** A command reading `video` as rawvideo rgb24 from stdin. */
export async function rawVideoCommand(video: RgbVideo): Promise<FfmpegCommand> {
  await getMediaBinaries();
  return ffmpeg({ stdoutLines: 40 })
    .input(Readable.from(frameBuffers(video)))
    .inputFormat('rawvideo')
    .inputOptions([
      ...QUIET,
      '-pix_fmt',
      'rgb24',
      '-video_size',
      `${video.width}x${video.height}`,
      '-framerate',
      String(video.fps),
    ]);
}

/** A command reading a file ffmpeg can demux by itself. */
export async function fileInputCommand(file: string, inputOptions: string[] = []): Promise<FfmpegCommand> {
  await getMediaBinaries();
  return ffmpeg({ stdoutLines: 40 }).input(file).inputOptions([...QUIET, ...inputOptions]);
}

export interface RunOptions {
  signal?: AbortSignal | undefined;
  /** What the run does, for messages ("MP4 encode"). */
  what: string;
  /** Builds the error for a failed run from a one-line summary and ffmpeg's stderr. */
  fail: (message: string, stderr: string) => MediaError;
}

/** Runs `command` to completion. Rejects with MediaAbortedError when `signal` fires (after ffmpeg has exited). */
export function runFfmpeg(command: FfmpegCommand, options: RunOptions): Promise<void> {
  const { signal, what } = options;
  if (signal?.aborted) return Promise.reject(abortedError(what, signal));

  return new Promise<void>((resolve, reject) => {
    let started = false;
    let aborted = false;

    const onAbort = () => {
      aborted = true;
      // Before 'start' there is no process to kill yet; the 'start' handler kills it as soon as it exists.
      if (started) command.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = () => signal?.removeEventListener('abort', onAbort);

    command.on('start', () => {
      started = true;
      if (aborted) command.kill('SIGKILL');
    });
    command.on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
      finish();
      if (aborted && signal !== undefined) {
        reject(abortedError(what, signal));
        return;
      }
      const summary = (error.message.split('\n')[0] ?? String(error)).replace(/:\s*$/, '');
      reject(options.fail(`${what} failed: ${summary}`, stderr ?? ''));
    });
    command.on('end', () => {
      finish();
      if (aborted && signal !== undefined) reject(abortedError(what, signal));
      else resolve();
    });
    command.run();
  });
}

function abortedError(what: string, signal: AbortSignal): MediaError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? reason.message : reason === undefined ? '' : String(reason);
  return new MediaAbortedError(`${what} aborted${why.length > 0 ? `: ${why}` : ''}.`, { cause: reason });
}

/** Runs `body` with a fresh private temp folder that is removed afterwards, whatever happens. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'animate-media-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
