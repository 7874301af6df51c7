// A gateway's reader of the job event streams it follows: one loop, one blocking connection, XREAD over every
// followed stream at once, feeding each job's local Job (inference/server/job.ts), so the Generate streams, their
// replay and backpressure are the single-process daemon's. A clip arrives as a reference to the blob store and is
// streamed from there in chunks; the end entry ends the job with the worker's status.
import type { Redis } from 'ioredis';
import { errorFromCode, QueueUnavailableError } from '../errors.ts';
import type { DaemonLogger } from '../log.ts';
import { emitClipChunks, type FinishedClip } from '../server/generation.ts';
import type { Job } from '../server/job.ts';
import type { BlobStore } from './blob-store.ts';
import { decodeEvent } from './event-codec.ts';
import type { ClusterKeys } from './keys.ts';

/** How long one XREAD waits for news (ms): a job followed meanwhile waits at most this long for its first entry. */
export const RELAY_BLOCK_MS = 250;
/** Entries read per stream per XREAD. */
export const RELAY_BATCH = 64;

/** A clip entry ('c'): where the bytes are and what the ClipChunks say about them. */
export type ClipReference = Omit<FinishedClip, 'data'> & { blobKey: string };

/** An end entry ('x'): no code is success. */
export interface EndEntry {
  code?: string;
  message?: string;
}

interface Followed {
  job: Job;
  key: string;
  lastId: string;
  startedSeen: boolean;
  /** Formats whose clip was relayed, and whether Done was: a later attempt's copies (its worker died between them and the end) are dropped, so the person gets one of each. */
  clipsSeen: Set<string>;
  doneSeen: boolean;
}

export class EventRelay {
  private readonly followed = new Map<string, Followed>();
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: ClusterKeys,
    private readonly blobs: BlobStore,
    private readonly log: DaemonLogger,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Follows a job's stream from its first entry (a resend on another gateway sees the whole story). */
  follow(job: Job): void {
    const key = this.keys.events(job.id);
    if (this.followed.has(key)) return;
    this.followed.set(key, { job, key, lastId: '0', startedSeen: false, clipsSeen: new Set(), doneSeen: false });
    job.onFinished(() => this.followed.delete(key));
    this.wake?.();
  }

  get size(): number {
    return this.followed.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.redis.disconnect();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.followed.size) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const reading = [...this.followed.values()];
      let reply: unknown;
      try {
        reply = await this.redis.callBuffer('XREAD', 'COUNT', RELAY_BATCH, 'BLOCK', RELAY_BLOCK_MS, 'STREAMS', ...reading.map((f) => f.key), ...reading.map((f) => f.lastId));
      } catch (err) {
        if (this.stopped) break;
        // Redis away: the connection reconnects by itself; the gateway ends what it must (gateway.ts).
        this.log.debug('event relay: read failed, retrying', { error: (err as Error).message });
        await new Promise((r) => setTimeout(r, 500).unref());
        continue;
      }
      if (!Array.isArray(reply)) continue;
      for (const [keyBytes, items] of reply as Array<[Buffer, Array<[Buffer, Buffer[]]>]>) {
        const f = this.followed.get(keyBytes.toString());
        if (!f) continue;
        for (const [id, fields] of items) {
          f.lastId = id.toString();
          if (f.job.finished) break;
          await this.handle(f, fields).catch((err: Error) => {
            this.log.error('event relay: an entry could not be relayed', { jobId: f.job.id, error: err.message });
            f.job.finish(new QueueUnavailableError('this job\'s events could not be read from the queue; please send it again'));
          });
        }
      }
    }
  }

  private async handle(f: Followed, fields: Buffer[]): Promise<void> {
    const entry: Record<string, Buffer> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i]!.toString()] = fields[i + 1]!;
    const kind = entry.k?.toString();
    const value = entry.v ?? Buffer.alloc(0);
    const job = f.job;
    if (kind === 'e') {
      const event = decodeEvent(value);
      if (event.started || event.progress?.stage === 'restarted') {
        // A later attempt's Started would tell the person the job started twice; its "restarted" Progress says it.
        if (event.started && f.startedSeen) return;
        if (event.started) f.startedSeen = true;
        if (job.state === 'queued') {
          job.state = 'running';
          job.startedAt = performance.now();
        }
      }
      if (event.done) {
        if (f.doneSeen) return;
        f.doneSeen = true;
      }
      job.emit(event);
    } else if (kind === 'c') {
      const ref = JSON.parse(value.toString()) as ClipReference;
      if (f.clipsSeen.has(String(ref.format))) return;
      f.clipsSeen.add(String(ref.format));
      const bytes = await this.blobs.get(ref.blobKey);
      if (!bytes) {
        job.finish(new QueueUnavailableError('the finished clip expired from the queue before it could be sent; please send the request again'));
        return;
      }
      const { blobKey: _key, ...about } = ref;
      emitClipChunks(job, { ...about, data: bytes });
    } else if (kind === 'x') {
      const end = JSON.parse(value.toString()) as EndEntry;
      job.finish(end.code ? errorFromCode(end.code, end.message ?? end.code) : undefined);
    }
  }
}
