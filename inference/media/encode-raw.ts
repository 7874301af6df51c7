/**
 * One encode of an RgbVideo into a file format, shared by clips and previews. Output always goes to a temp file:
 * MP4 +faststart rewrites the file to move the index to the front, and the WebP muxer seeks back to patch its
 * header, so neither can stream to a pipe.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EncodeFailedError } from './errors.ts';
import { rawVideoCommand, runFfmpeg, withTempDir } from './run.ts';
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
}

export async function encodeRaw(video: RgbVideo, job: RawEncodeJob): Promise<Buffer> {
  const command = await rawVideoCommand(video);
  return withTempDir(async (dir) => {
    const outputFile = path.join(dir, `out.${job.extension}`);
    const filterOptions = job.filterGraph.length > 0 ? ['-vf', job.filterGraph] : [];
    command.output(outputFile).outputOptions([...filterOptions, ...job.outputOptions]);
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
