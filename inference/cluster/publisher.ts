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
import { EVENT_STREAM_MAXLEN, JOB_TTL_S, RESULT_TTL_S, type ClusterKeys } from './keys.ts';
import { publishScript, type PublishEntry, type PublishResult } from './scripts.ts';

const LIMITS = { maxlen: EVENT_STREAM_MAXLEN, jobTtl: JOB_TTL_S, resultTtl: RESULT_TTL_S } as const;

/** A clip being put together from its chunks, before it is stored once. */
interface Assembly {
  bytes: Buffer;
  about: Omit<FinishedClip, 'data'>;
}

export class JobPublisher {
  private chain: Promise<void> = Promise.resolve();
  private stopped: Exclude<PublishResult, 'ok'> | 'handed-over' | undefined;
  private readonly clips = new Map<string, Assembly>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: ClusterKeys,
    private readonly blobs: BlobStore,
    private readonly requestId: string,
    private readonly attempt: number,
    private readonly log: DaemonLogger,
    /** Publishing was refused: 'gone' (Redis lost the job), 'fenced' (a newer attempt owns it) or 'final'. */
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
    const blobKey = this.keys.clip(this.requestId, format);
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
        this.log.warn('could not publish a job event to the queue', { id: this.requestId, error: (err as Error).message });
      }
    });
  }

  private async publish(entry: PublishEntry): Promise<void> {
    if (this.stopped) return;
    const result = await publishScript(this.redis, { record: this.keys.job(this.requestId), events: this.keys.events(this.requestId), waiting: this.keys.waiting, waitingTotal: this.keys.waitingTotal }, this.attempt, entry, LIMITS);
    if (result === 'ok') return;
    this.stopped = result;
    this.onRefused(result);
  }
}
