/**
 * The main-thread side of the preview encoder: one worker thread (preview-worker.ts), started on first use, that
 * encodes previews in-process, so a preview costs the event loop a message, not an ffmpeg process or the encode
 * itself. The thread is unref'd while idle (it never keeps a process alive), and when it dies every preview in flight
 * fails with ENCODE_FAILED and the next one starts a fresh thread.
 */
import { Worker } from 'node:worker_threads';
import { EncodeFailedError, MediaAbortedError } from './errors.ts';
import type { InProcessPreviewFormat, PreviewEncodeRequest, PreviewEncodeResponse } from './preview-protocol.ts';

const ENTRY = new URL('./preview-worker-entry.mjs', import.meta.url);

export interface InProcessPreviewJob {
  format: InProcessPreviewFormat;
  width: number;
  height: number;
  fps: number;
  frames: readonly Uint8Array[];
  outWidth: number;
  outHeight: number;
  factor: number;
  signal?: AbortSignal | undefined;
}

export interface InProcessPreviewResult {
  data: Buffer;
  /** Time the worker spent on it (fit + encode), for benchmarks. */
  encodeMs: number;
}

type Pending = { resolve: (r: InProcessPreviewResult) => void; reject: (e: Error) => void };

class PreviewEncoderThread {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private spawn(): Worker {
    const worker = new Worker(ENTRY);
    worker.on('message', (msg: PreviewEncodeResponse) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.settled(msg.id);
      if (msg.ok) p.resolve({ data: Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength), encodeMs: msg.encodeMs });
      else p.reject(new EncodeFailedError(`The in-process preview encode failed: ${msg.error}`));
    });
    const fail = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const error = new EncodeFailedError(`The preview encoder thread stopped (${why}); the preview was not encoded.`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(err.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
    worker.unref();
    return worker;
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
  }

  encode(job: InProcessPreviewJob): Promise<InProcessPreviewResult> {
    const { signal } = job;
    if (signal?.aborted) return Promise.reject(new MediaAbortedError('The preview encode was aborted before it started.'));
    this.worker ??= this.spawn();
    const worker = this.worker;
    const id = this.nextId++;
    const req: PreviewEncodeRequest = {
      id, format: job.format, width: job.width, height: job.height, fps: job.fps, frames: [...job.frames],
      outWidth: job.outWidth, outHeight: job.outHeight, factor: job.factor,
    };
    return new Promise<InProcessPreviewResult>((resolve, reject) => {
      // An abort answers at once; the worker's late reply is dropped (its id is no longer pending).
      const onAbort = () => {
        if (!this.pending.has(id)) return;
        this.settled(id);
        reject(new MediaAbortedError('The preview encode was aborted.'));
      };
      this.pending.set(id, {
        resolve: (r) => { signal?.removeEventListener('abort', onAbort); resolve(r); },
        reject: (e) => { signal?.removeEventListener('abort', onAbort); reject(e); },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.ref();
      worker.postMessage(req);
    });
  }

  /** Stops the thread (tests, shutdown); the next encode starts another. */
  async close(): Promise<void> {
    // The exit handler (fail) rejects what is still in flight and forgets the thread.
    await this.worker?.terminate();
  }
}

/** The process's preview encoder thread (one is enough: an encode takes milliseconds and previews are paced). */
export const previewEncoderThread = new PreviewEncoderThread();

export function encodePreviewInProcess(job: InProcessPreviewJob): Promise<InProcessPreviewResult> {
  return previewEncoderThread.encode(job);
}
