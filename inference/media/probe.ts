/**
 * What is in an encoded clip, as ffprobe sees it, with frames counted exactly (-count_frames decodes the stream).
 * Animated WebP is the exception: ffmpeg cannot demux it (see webp-container.ts), so its geometry, frame count
 * and duration come from the container while codec and format still come from ffprobe. ffprobe runs as a child
 * process (run.ts) and reports as JSON (-of json), which is parsed here.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ProbeFailedError } from './errors.ts';
import { runFfprobe, withTempDir } from './run.ts';
import { isWebp, parseWebp } from './webp-container.ts';

export interface ClipProbe {
  /** ffprobe's codec_name: 'h264', 'gif', 'webp', … */
  codec: string;
  /** ffprobe's pix_fmt, when it reports one ('yuv420p', 'bgra', …). */
  pixFmt?: string;
  /** Colour matrix tag (color_space), when set: 'bt709', … */
  colorSpace?: string;
  width: number;
  height: number;
  /** Exact number of decoded frames. */
  frames: number;
  /** Average frame rate (frames per second). */
  fps: number;
  durationSeconds: number;
  /** ffprobe's format_name: 'mov,mp4,m4a,3gp,3g2,mj2', 'gif', 'webp_pipe', … */
  formatName: string;
}

/** Probes a clip given as bytes or as a file path. Throws ProbeFailedError for unreadable or non-video input. */
export async function probeClip(data: Buffer | string): Promise<ClipProbe> {
  if (typeof data === 'string') return probeFile(data, undefined);
  if (data.length === 0) throw new ProbeFailedError('Cannot probe an empty buffer.');
  return withTempDir(async (dir) => {
    // A file, not stdin: MP4s whose index sits at the end need a seekable input.
    const file = path.join(dir, 'clip');
    await writeFile(file, data);
    return probeFile(file, data);
  });
}

async function probeFile(file: string, bytes: Buffer | undefined): Promise<ClipProbe> {
  const report = await probeReport(file);
  const stream = report.streams.find((s) => s.codec_type === 'video');
  if (stream === undefined) throw new ProbeFailedError(`${describe(file, bytes)} has no video stream.`);
  const codec = String(stream.codec_name ?? 'unknown');
  const formatName = String(report.format.format_name ?? 'unknown');

  if (codec === 'webp') {
    const content = bytes ?? (await readFile(file));
    if (isWebp(content)) return probeWebp(content, formatName);
  }

  const frames = toNumber(stream.nb_read_frames);
  const width = toNumber(stream.width);
  const height = toNumber(stream.height);
  if (frames === undefined || width === undefined || height === undefined || width === 0 || height === 0) {
    throw new ProbeFailedError(`ffprobe could not read the frames of ${describe(file, bytes)} (codec ${codec}).`);
  }
  const durationSeconds = toNumber(report.format.duration) ?? toNumber(stream.duration) ?? 0;
  const fps = parseRate(stream.avg_frame_rate) ?? parseRate(stream.r_frame_rate) ?? (durationSeconds > 0 ? frames / durationSeconds : 0);
  const pixFmt = stream.pix_fmt !== undefined && stream.pix_fmt !== 'unknown' ? String(stream.pix_fmt) : undefined;
  const colorSpace = stream.color_space !== undefined && stream.color_space !== 'unknown' ? String(stream.color_space) : undefined;
  return {
    codec,
    ...(pixFmt === undefined ? {} : { pixFmt }),
    ...(colorSpace === undefined ? {} : { colorSpace }),
    width,
    height,
    frames,
    fps,
    durationSeconds,
    formatName,
  };
}

function probeWebp(content: Buffer, formatName: string): ClipProbe {
  const info = parseWebp(content);
  const durationMs = info.frames.reduce((sum, frame) => sum + frame.durationMs, 0);
  return {
    codec: 'webp',
    width: info.width,
    height: info.height,
    frames: info.frames.length,
    fps: durationMs > 0 ? (info.frames.length * 1000) / durationMs : 0,
    durationSeconds: durationMs / 1000,
    formatName,
  };
}

/** The fields of ffprobe's JSON report we read; everything else is ignored. */
interface FfprobeReport {
  streams: Array<Record<string, unknown>>;
  format: Record<string, unknown>;
}

async function probeReport(file: string): Promise<FfprobeReport> {
  const what = `Probing ${file}`;
  const fail = (message: string, stderr: string) => new ProbeFailedError(message, { stderr });
  const stdout = await runFfprobe(
    ['-hide_banner', '-v', 'error', '-count_frames', '-show_streams', '-show_format', '-of', 'json', file],
    { what, fail },
  );
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (error) {
    throw new ProbeFailedError(`${what} failed: ffprobe printed no JSON report`, { stderr: stdout, cause: error });
  }
  const report = parsed as Partial<FfprobeReport> | null;
  return {
    streams: Array.isArray(report?.streams) ? report.streams : [],
    format: typeof report?.format === 'object' && report.format !== null ? report.format : {},
  };
}

function describe(file: string, bytes: Buffer | undefined): string {
  return bytes === undefined ? file : `the ${bytes.length}-byte clip`;
}

function toNumber(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** "8/1" → 8; "0/0" → undefined. */
function parseRate(value: unknown): number | undefined {
  if (typeof value !== 'string') return toNumber(value);
  const [num, den] = value.split('/').map(Number);
  if (num === undefined || !Number.isFinite(num)) return undefined;
  if (den === undefined) return num > 0 ? num : undefined;
  return den > 0 && num > 0 ? num / den : undefined;
}
