// Publishes one running job's events from a worker to the job's stream, in order, through the fenced script
// (scripts.ts): each event as protobuf, each finished clip once to the blob store with a reference in the stream, and
// the end. The first refusal (the record is gone, a newer attempt owns the job, or it has ended) stops publishing and
// is reported, so the worker can stop a job nobody will receive.
import type { Redis } from 'ioredis';
import type { GenerateEvent } from '../../shared/rpc/types.ts';
import { RequestCancelledError, type DaemonError } from '../errors.ts';
import type { DaemonLogger } from '../log.ts';
import type { FinishedClip } from '../server/generation.ts';
import type { BlobStore } from './blob-store.ts';
import { encodeEvent } from './event-codec.ts';
import type { ClipReference, EndEntry } from './event-relay.ts';
import { EVENT_LIMITS, eventKeys, RESULT_TTL_S, type ClusterKeys } from './keys.ts';
import { publishScript, type PublishEntry, type PublishResult } from './scripts.ts';

/** A clip being put together from its chunks, before it is stored once. */
interface Assembly {
  bytes: Buffer;
  about: Omit<FinishedClip, 'data'>;
}

export class JobPublisher {
  private chain: Promise<void> = Promise.resolve();
  private stopped: Exclude<PublishResult, 'ok' | 'cancel'> | 'handed-over' | undefined;
  private readonly clips = new Map<string, Assembly>();
  /** The newest preview waiting to be written: while Redis is slow only the newest is kept, as PreviewPump does. */
  private pendingPreview: Buffer | undefined;
  private cancelSeen = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: ClusterKeys,
    private readonly blobs: BlobStore,
    private readonly requestId: string,
    private readonly attempt: number,
    private readonly log: DaemonLogger,
    /** Publishing was refused: 'gone' (Redis lost the job), 'fenced' (a newer attempt owns it), 'final', or 'cancel'. */
    private readonly onRefused: (why: Exclude<PublishResult, 'ok'>) => void,
  ) {}

  /** Why publishing stopped, if it did. */
  get stoppedBecause(): string | undefined {
    return this.stopped;
  }

  event(event: GenerateEvent): void {
    // Places in line are the gateways' to tell; a worker's job is never queued.
    if (event.queued) return;
    if (event.clip) return this.clipChunk(event.clip);
    const bytes = encodeEvent(event);
    if (event.preview) {
      const queued = this.pendingPreview !== undefined;
      this.pendingPreview = bytes;
      if (queued) return; // the step already queued writes this newer one
      this.enqueue(async () => {
        const newest = this.pendingPreview;
        this.pendingPreview = undefined;
        if (newest) await this.publish({ kind: 'e', payload: newest });
      });
      return;
    }
    this.enqueue(() => this.publish({ kind: 'e', payload: bytes }));
  }

  end(error: DaemonError | undefined): void {
    const entry: EndEntry = error ? { code: error.code, message: error.message } : {};
    const state = !error ? 'done' : error instanceof RequestCancelledError ? 'cancelled' : 'failed';
    this.enqueue(() => this.publish({ kind: 'x', payload: JSON.stringify(entry), end: { state, code: error?.code ?? '', message: error?.message ?? '' } }));
  }

  /** This worker gives the job back (shutting down): nothing more is published; another worker takes it up. */
  handOver(): void {
    this.stopped ??= 'handed-over';
  }

  /** Resolves when everything handed to this publisher has been written (or refused). */
  flushed(): Promise<void> {
    return this.chain;
  }

  private clipChunk(chunk: NonNullable<GenerateEvent['clip']>): void {
    const format = String(chunk.format);
    const data = chunk.data as Uint8Array;
    let assembly = this.clips.get(format);
    if (!assembly || Number(chunk.offset) === 0) {
      assembly = {
        bytes: Buffer.alloc(Number(chunk.totalBytes ?? 0)),
        about: { format: chunk.format!, mimeType: chunk.mimeType ?? '', width: chunk.width ?? 0, height: chunk.height ?? 0, frames: chunk.frames ?? 0, fps: chunk.fps ?? 0, fit: chunk.fit ?? null },
      };
      this.clips.set(format, assembly);
    }
    assembly.bytes.set(data, Number(chunk.offset));
    if (!chunk.last) return;
    this.clips.delete(format);
    const done = assembly;
    const blobKey = this.keys.clip(this.requestId, this.attempt, format);
    this.enqueue(async () => {
      await this.blobs.put(blobKey, done.bytes, RESULT_TTL_S);
      const ref: ClipReference = { ...done.about, blobKey };
      await this.publish({ kind: 'c', payload: JSON.stringify(ref) });
    });
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return;
      try {
        await step();
      } catch (err) {
        this.log.warn('could not publish a job event to the queue', { jobId: this.requestId, error: (err as Error).message });
      }
    });
  }

  private async publish(entry: PublishEntry): Promise<void> {
    if (this.stopped) return;
    const result = await publishScript(this.redis, eventKeys(this.keys, this.requestId), this.attempt, entry, EVENT_LIMITS);
    if (result === 'ok') return;
    if (result === 'cancel') {
      // Marked cancelled: progress is no longer written, but the end still is (the worker stops the job at once).
      if (!this.cancelSeen) {
        this.cancelSeen = true;
        this.onRefused(result);
      }
      return;
    }
    this.stopped = result;
    this.onRefused(result);
  }
}
