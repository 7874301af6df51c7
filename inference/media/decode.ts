/**
 * Decoding clips back into RGB24 frames: for tests that check what was encoded and for model evaluation.
 * MP4/GIF (and anything else ffmpeg reads) decode in one ffmpeg run; animated WebP is taken apart with the
 * container reader and each frame's still image is decoded by ffmpeg, then composited as the format prescribes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DecodeFailedError } from './errors.ts';
import type { ClipFormat } from './options.ts';
import { probeClip } from './probe.ts';
import { fileInputCommand, runFfmpeg, withTempDir } from './run.ts';
import type { RgbVideo } from './video.ts';
import { isWebp, parseWebp, type WebpFrame } from './webp-container.ts';

/** ffmpeg demuxer names for formats we can name; others are left to ffmpeg's detection. */
const DEMUXERS: Readonly<Record<Exclude<ClipFormat, 'webp'>, string>> = { mp4: 'mp4', gif: 'gif' };

/**
 * Decodes `data` to RGB24 frames. `format` names the container when known; otherwise it is sniffed from the bytes.
 * Every decoded frame is returned (no frame-rate conversion), at the stored size (MP4 padding included).
 */
export async function decodeFrames(data: Buffer, format?: ClipFormat): Promise<RgbVideo> {
  if (data.length === 0) throw new DecodeFailedError('Cannot decode an empty buffer.');
  const detected = format ?? sniffFormat(data);
  if (detected === 'webp') return decodeWebp(data);
  return withTempDir(async (dir) => {
    const input = path.join(dir, 'clip');
    await writeFile(input, data);
    return decodeWithFfmpeg(input, detected, dir);
  });
}

export function sniffFormat(data: Buffer): ClipFormat | undefined {
  if (isWebp(data)) return 'webp';
  if (data.length >= 6 && /^GIF8[79]a$/.test(data.toString('latin1', 0, 6))) return 'gif';
  if (data.length >= 8 && data.toString('latin1', 4, 8) === 'ftyp') return 'mp4';
  return undefined;
}

async function decodeWithFfmpeg(input: string, format: ClipFormat | undefined, dir: string): Promise<RgbVideo> {
  const probe = await probeClip(input).catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    throw new DecodeFailedError(`Cannot decode: ${message}`, { cause: error });
  });
  const output = path.join(dir, 'frames.rgb');
  const demuxer = format === undefined || format === 'webp' ? undefined : DEMUXERS[format];
  const command = fileInputCommand(input, demuxer === undefined ? [] : ['-f', demuxer]);
  // Undo the RGB→YUV conversion with the matrix the stream is tagged with (ffmpeg assumes BT.601 otherwise).
  const matrix = probe.pixFmt?.startsWith('yuv') && probe.colorSpace === 'bt709' ? ['scale=in_color_matrix=bt709'] : [];
  command
    .output(output)
    .outputOptions([
      ...(matrix.length > 0 ? ['-vf', matrix.join(',')] : []),
      // Keep every stored frame exactly once, whatever the timestamps say.
      '-vsync', 'passthrough',
      '-pix_fmt', 'rgb24',
      '-f', 'rawvideo',
    ]);
  await runFfmpeg(command, {
    what: 'Decoding to RGB frames',
    fail: (message, stderr) => new DecodeFailedError(message, { stderr }),
  });
  const raw = await readFile(output);
  const frameBytes = probe.width * probe.height * 3;
  if (raw.length === 0 || raw.length % frameBytes !== 0) {
    throw new DecodeFailedError(
      `Decoded ${raw.length} bytes, which is not a whole number of ${probe.width}x${probe.height} RGB24 frames.`,
    );
  }
  const frames: Uint8Array[] = [];
  for (let offset = 0; offset < raw.length; offset += frameBytes) {
    frames.push(new Uint8Array(raw.subarray(offset, offset + frameBytes)));
  }
  return { width: probe.width, height: probe.height, fps: probe.fps > 0 ? probe.fps : 1, frames };
}

async function decodeWebp(data: Buffer): Promise<RgbVideo> {
  const info = parseWebp(data);
  const canvas = new Uint8Array(info.width * info.height * 4); // RGBA, starts fully transparent
  const frames: Uint8Array[] = [];
  await withTempDir(async (dir) => {
    for (const [index, frame] of info.frames.entries()) {
      const rgba = await decodeStill(frame, path.join(dir, `frame-${index}`));
      composite(canvas, info.width, frame, rgba);
      frames.push(rgbOf(canvas));
      if (frame.disposeToBackground) clearRect(canvas, info.width, frame);
    }
  });
  const totalMs = info.frames.reduce((sum, frame) => sum + frame.durationMs, 0);
  const fps = totalMs > 0 ? (info.frames.length * 1000) / totalMs : 1;
  return { width: info.width, height: info.height, fps, frames };
}

async function decodeStill(frame: WebpFrame, base: string): Promise<Uint8Array> {
  const input = `${base}.webp`;
  const output = `${base}.rgba`;
  await writeFile(input, frame.still);
  const command = fileInputCommand(input);
  command.output(output).outputOptions(['-frames:v', '1', '-pix_fmt', 'rgba', '-f', 'rawvideo']);
  await runFfmpeg(command, {
    what: 'Decoding a WebP frame',
    fail: (message, stderr) => new DecodeFailedError(message, { stderr }),
  });
  const rgba = await readFile(output);
  if (rgba.length !== frame.width * frame.height * 4) {
    throw new DecodeFailedError(
      `A WebP frame decoded to ${rgba.length} bytes; expected ${frame.width}x${frame.height} RGBA.`,
    );
  }
  return rgba;
}

/** Draws `rgba` (the frame's rectangle) onto the canvas, alpha-blending when the frame asks for it. */
function composite(canvas: Uint8Array, canvasWidth: number, frame: WebpFrame, rgba: Uint8Array): void {
  for (let y = 0; y < frame.height; y++) {
    for (let x = 0; x < frame.width; x++) {
      const src = (y * frame.width + x) * 4;
      const dst = ((frame.y + y) * canvasWidth + frame.x + x) * 4;
      const alpha = (rgba[src + 3] ?? 255) / 255;
      if (!frame.blend || alpha >= 1) {
        canvas.set(rgba.subarray(src, src + 4), dst);
        continue;
      }
      const under = (canvas[dst + 3] ?? 0) / 255;
      const outAlpha = alpha + under * (1 - alpha);
      for (let c = 0; c < 3; c++) {
        const blended = outAlpha > 0
          ? ((rgba[src + c] ?? 0) * alpha + (canvas[dst + c] ?? 0) * under * (1 - alpha)) / outAlpha
          : 0;
        canvas[dst + c] = Math.round(blended);
      }
      canvas[dst + 3] = Math.round(outAlpha * 255);
    }
  }
}

function clearRect(canvas: Uint8Array, canvasWidth: number, frame: WebpFrame): void {
  for (let y = 0; y < frame.height; y++) {
    const start = ((frame.y + y) * canvasWidth + frame.x) * 4;
    canvas.fill(0, start, start + frame.width * 4);
  }
}

/** The canvas as RGB24; transparent areas show as black. */
function rgbOf(canvas: Uint8Array): Uint8Array {
  const pixels = canvas.length / 4;
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const alpha = (canvas[i * 4 + 3] ?? 0) / 255;
    rgb[i * 3] = Math.round((canvas[i * 4] ?? 0) * alpha);
    rgb[i * 3 + 1] = Math.round((canvas[i * 4 + 1] ?? 0) * alpha);
    rgb[i * 3 + 2] = Math.round((canvas[i * 4 + 2] ?? 0) * alpha);
  }
  return rgb;
}
