/**
 * Running ffmpeg and ffprobe as direct child processes (node:child_process spawn, arguments as an array, never a
 * shell): raw RGB24 frames in on stdin, abort by killing the process, failures turned into MediaErrors that quote the
 * tool's stderr, and temp folders that are always removed. This replaced fluent-ffmpeg (archived in May 2025, whose
 * maintainer recommends plain spawn): what we need from it is an argument list and an exit code.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getMediaBinaries } from './binaries.ts';
import { MediaAbortedError, type MediaError } from './errors.ts';
import { frameBuffers, type RgbVideo } from './video.ts';

/** Options every ffmpeg run gets: no banner, only real errors on stderr (so error messages quote the cause, not stats). */
const QUIET = ['-hide_banner', '-loglevel', 'error', '-nostats'];

/** stderr kept per run: its tail is what error messages quote, and a runaway log must not grow without bound. */
const MAX_STDERR_BYTES = 64 * 1024;
/** stdout kept per run (ffprobe's JSON report of one clip is a few KiB). */
const MAX_STDOUT_BYTES = 8 * 1024 * 1024;

/**
 * The argument list of one ffmpeg run, built input first, then the output file and its options, so callers say
 * what they want in ffmpeg's own words without caring where each flag goes.
 */
export class FfmpegCommand {
  readonly #inputArgs: readonly string[];
  readonly #stdin: readonly Buffer[] | undefined;
  #outputFile: string | undefined;
  readonly #outputArgs: string[] = [];

  constructor(inputArgs: readonly string[], stdin?: readonly Buffer[]) {
    this.#inputArgs = inputArgs;
    this.#stdin = stdin;
  }

  output(file: string): this {
    this.#outputFile = file;
    return this;
  }

  outputOptions(args: readonly string[]): this {
    this.#outputArgs.push(...args);
    return this;
  }

  /** Bytes to write to ffmpeg's stdin, when the input is `pipe:0`. */
  get stdin(): readonly Buffer[] | undefined {
    return this.#stdin;
  }

  /** The whole argv after the binary: global options, input, output options, then `-y <output>`. */
  args(): string[] {
    if (this.#outputFile === undefined) throw new TypeError('FfmpegCommand: output(file) was not called');
    return [...QUIET, ...this.#inputArgs, ...this.#outputArgs, '-y', this.#outputFile];
  }
}

/** A command reading `video` as rawvideo rgb24 from stdin, then `extraInputs` (a watermark image: stream 1). */
export function rawVideoCommand(video: RgbVideo, extraInputs: readonly string[] = []): FfmpegCommand {
  return new FfmpegCommand(
    ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-video_size', `${video.width}x${video.height}`, '-framerate', String(video.fps), '-i', 'pipe:0', ...extraInputs],
    frameBuffers(video),
  );
}

/** A command reading a file ffmpeg can demux by itself; `inputOptions` go before `-i` (a demuxer, -noautorotate, …). */
export function fileInputCommand(file: string, inputOptions: readonly string[] = []): FfmpegCommand {
  return new FfmpegCommand([...inputOptions, '-i', file]);
}

export interface RunOptions {
  signal?: AbortSignal | undefined;
  /** What the run does, for messages ("MP4 encode"). */
  what: string;
  /** Builds the error for a failed run from a one-line summary and the tool's stderr. */
  fail: (message: string, stderr: string) => MediaError;
}

/** Runs `command` with the process-wide ffmpeg to completion. Rejects with MediaAbortedError when `signal` fires. */
export async function runFfmpeg(command: FfmpegCommand, options: RunOptions): Promise<void> {
  if (options.signal?.aborted) throw abortedError(options.what, options.signal);
  const { ffmpegPath } = await getMediaBinaries();
  await runTool(ffmpegPath, command.args(), { ...options, stdin: command.stdin, name: 'ffmpeg' });
}

/** Runs the process-wide ffprobe with `args` and returns its stdout. */
export async function runFfprobe(args: readonly string[], options: RunOptions): Promise<string> {
  const { ffprobePath } = await getMediaBinaries();
  return runTool(ffprobePath, args, { ...options, name: 'ffprobe' });
}

interface ToolRun extends RunOptions {
  /** The tool's name in messages. */
  name: string;
  stdin?: readonly Buffer[] | undefined;
}

/**
 * Spawns `file` with `args` (no shell), feeds `stdin` with backpressure, and resolves with stdout on exit code 0.
 * An abort kills the process with SIGKILL (ffmpeg ignores nothing then) and rejects once it has exited, so no temp
 * file is still being written when the caller removes its folder.
 */
export function runTool(file: string, args: readonly string[], run: ToolRun): Promise<string> {
  const { signal, what, name } = run;
  if (signal?.aborted) return Promise.reject(abortedError(what, signal));

  return new Promise<string>((resolve, reject) => {
    const child = spawn(file, args, { stdio: [run.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], shell: false });
    const stdout = new BoundedText(MAX_STDOUT_BYTES, 'head');
    const stderr = new BoundedText(MAX_STDERR_BYTES, 'tail');
    child.stdout?.on('data', (chunk: Buffer) => stdout.add(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.add(chunk));

    let aborted = false;
    const onAbort = () => {
      aborted = true;
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    if (run.stdin !== undefined && child.stdin !== null) {
      // ffmpeg closes its stdin early when it fails or is killed: EPIPE then is not the error to report, the exit is.
      pipeline(Readable.from(run.stdin), child.stdin).catch(() => {});
    }

    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    child.on('error', (error) => {
      // A process that never started (ENOENT, EACCES) may not emit 'close'; one that did reports through 'close'.
      if (child.pid === undefined) settle(() => reject(run.fail(`${what} failed: ${name} could not be started (${error.message})`, '')));
    });
    child.on('close', (code, exitSignal) => {
      settle(() => {
        if (aborted && signal !== undefined) {
          reject(abortedError(what, signal));
        } else if (code === 0) {
          resolve(stdout.text());
        } else {
          const how = code !== null ? `exited with code ${code}` : `was killed by ${exitSignal ?? 'a signal'}`;
          reject(run.fail(`${what} failed: ${name} ${how}`, stderr.text()));
        }
      });
    });
  });
}

/** Collects a stream's text up to a byte cap, keeping its start (stdout: a report) or its end (stderr: the cause). */
class BoundedText {
  #chunks: Buffer[] = [];
  #bytes = 0;
  readonly limit: number;
  readonly keep: 'head' | 'tail';

  constructor(limit: number, keep: 'head' | 'tail') {
    this.limit = limit;
    this.keep = keep;
  }

  add(chunk: Buffer): void {
    if (this.keep === 'head' && this.#bytes >= this.limit) return;
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (this.keep === 'tail' && this.#bytes > this.limit * 2) {
      const all = Buffer.concat(this.#chunks);
      this.#chunks = [all.subarray(all.length - this.limit)];
      this.#bytes = this.limit;
    }
  }

  text(): string {
    const all = Buffer.concat(this.#chunks);
    const kept = this.keep === 'head' ? all.subarray(0, this.limit) : all.subarray(Math.max(0, all.length - this.limit));
    return kept.toString('utf8');
  }
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
