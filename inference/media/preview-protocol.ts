/**
 * The messages between the preview encoder's client (preview-encoder.ts, on the event loop) and its worker thread
 * (preview-worker.ts): one request per preview, answered by id. Frames are copied in (the caller keeps its buffers);
 * the encoded bytes come back transferred.
 */

/** Formats the worker encodes in-process: all the preview formats (gif-encoder.ts, webp-encoder.ts). */
export type InProcessPreviewFormat = 'gif' | 'webp';

export interface PreviewEncodeRequest {
  id: number;
  format: InProcessPreviewFormat;
  width: number;
  height: number;
  fps: number;
  frames: Uint8Array[];
  /** The size to deliver (fitPreview): reached by integer enlargement (`factor` > 1) or by area shrinking. */
  outWidth: number;
  outHeight: number;
  factor: number;
}

export type PreviewEncodeResponse =
  | { id: number; ok: true; data: Uint8Array; encodeMs: number }
  | { id: number; ok: false; error: string };
