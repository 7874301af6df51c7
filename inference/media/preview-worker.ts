/**
 * The body of the preview encoder's worker thread: fits each preview's frames to the size asked for and encodes them
 * in plain TypeScript (gif-encoder.ts, webp-encoder.ts: one palette per preview either way), so that neither a
 * spawned process nor the event loop pays for a preview.
 */
import { parentPort } from 'node:worker_threads';
import { encodeIndexedGif } from './gif-encoder.ts';
import { quantizeFrames } from './palette.ts';
import { encodeIndexedWebp } from './webp-encoder.ts';
import { enlargeNearest, shrinkArea } from './preview-resize.ts';
import type { PreviewEncodeRequest, PreviewEncodeResponse } from './preview-protocol.ts';

/**
 * Colours of a preview's palette: 64 keeps it ~35 dB from the frames (a tiny-world preview is 22-29 dB from its clip
 * anyway) for a quarter of the palette work and ~40% fewer bytes than 256 (measured on a 64x64x17 grass preview:
 * quantize 5 against 20 ms, WebP 46 against 82 KB at 128x128).
 */
export const PREVIEW_COLOURS = 64;

function encode(req: PreviewEncodeRequest): Uint8Array {
  const { width, height, outWidth, outHeight, factor, fps } = req;
  const write = req.format === 'webp' ? encodeIndexedWebp : encodeIndexedGif;
  if (factor > 1) {
    // Quantize at the source size, then enlarge the indices: the same pixels for a factor² less palette work.
    const q = quantizeFrames(req.frames, PREVIEW_COLOURS);
    return write({ width: outWidth, height: outHeight, fps, ...q, indices: enlargeNearest(q.indices, width, height, factor, 1) });
  }
  const frames = outWidth !== width || outHeight !== height ? shrinkArea(req.frames, width, height, outWidth, outHeight) : req.frames;
  return write({ width: outWidth, height: outHeight, fps, ...quantizeFrames(frames, PREVIEW_COLOURS) });
}

parentPort!.on('message', (req: PreviewEncodeRequest) => {
  const started = performance.now();
  let reply: PreviewEncodeResponse;
  try {
    reply = { id: req.id, ok: true, data: encode(req), encodeMs: performance.now() - started };
  } catch (err) {
    reply = { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply, reply.ok ? [reply.data.buffer as ArrayBuffer] : []);
});
