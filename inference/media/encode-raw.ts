/**
 * One encode of an RgbVideo into a file format, shared by clips and previews. Output always goes to a temp file:
 * MP4 +faststart rewrites the file to move the index to the front, and the WebP muxer seeks back to patch its
 * header, so neither can stream to a pipe.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EncodeFailedError } from './errors.ts';
import { rawVideoCommand, runFfmpeg, withTempDir, type FfmpegCommand } from './run.ts';
import type { RgbVideo } from './video.ts';

export interface RawEncodeJob {
  /** The -vf filter graph; empty for none. */
  filterGraph: string;
  /** Output options after -vf: codec, muxer (-f …) and their settings. */
  outputOptions: string[];
  /** File extension of the temp output, e.g. 'mp4'. */
  extension: string;
  /** For messages: "MP4 encode". */
  what: string;
  signal?: AbortSignal | undefined;
  /** Files the arguments name, written into the run's private temp folder before ffmpeg starts (a watermark). */
  files?: ReadonlyArray<{ name: string; data: string | Uint8Array }> | undefined;
  /** Inputs after the frames on stdin, e.g. ['-f', 'png_pipe', '-i', file]: streams [1:v], … of the graph. */
  extraInputs?: readonly string[] | undefined;
  /** The graph has more than one input: passed as -filter_complex instead of -vf. */
  complexFilter?: boolean | undefined;
}

/**
 * A job is fixed, or made from the run's temp folder when its arguments name files in it (a marked clip: the
 * watermark's text or image is written there first).
 */
export type RawEncodeJobSource = RawEncodeJob | ((dir: string) => RawEncodeJob);

/**
 * The command of one encode: pure, so tests can read the exact argv (and see which arguments a request's text can
 * reach) without running ffmpeg.
 */
export function rawEncodeCommand(video: RgbVideo, job: RawEncodeJob, outputFile: string): FfmpegCommand {
  const filterFlag = job.complexFilter === true ? '-filter_complex' : '-vf';
  const filterOptions = job.filterGraph.length > 0 ? [filterFlag, job.filterGraph] : [];
  return rawVideoCommand(video, job.extraInputs ?? []).output(outputFile).outputOptions([...filterOptions, ...job.outputOptions]);
}

export async function encodeRaw(video: RgbVideo, source: RawEncodeJobSource): Promise<Buffer> {
  return withTempDir(async (dir) => {
    const job = typeof source === 'function' ? source(dir) : source;
    const outputFile = path.join(dir, `out.${job.extension}`);
    for (const file of job.files ?? []) await writeFile(path.join(dir, file.name), file.data, { mode: 0o600 });
    const command = rawEncodeCommand(video, job, outputFile);
    await runFfmpeg(command, {
      signal: job.signal,
      what: job.what,
      fail: (message, stderr) => new EncodeFailedError(message, { stderr }),
    });
    const data = await readFile(outputFile);
    if (data.length === 0) throw new EncodeFailedError(`${job.what} produced an empty file.`);
    return data;
  });
}

/** Nearest-neighbour integer enlargement: keeps generated pixels crisp instead of blurring them. */
export function nearestUpscaleFilter(factor: number): string[] {
  return factor > 1 ? [`scale=iw*${factor}:ih*${factor}:flags=neighbor`] : [];
}
