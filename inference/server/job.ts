// One generation request's life on the daemon: its state, the events it has emitted (so a retried request id,
// or a second stream for the same id, sees the whole story), and the cursors reading them.
//
// The history is held once, whatever the number of streams: each stream is a cursor (an index) over it, not a copy,
// so a slow or never-reading stream costs the daemon only what that stream has in flight (event-stream.ts).
// Queue positions and previews are "latest value" events: a cursor that falls behind skips to the newest one.
import type { GenerateEvent } from '../../shared/rpc/types.ts';
import { RequestCancelledError, type DaemonError } from '../errors.ts';
import type { JobSpec } from './validate.ts';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** Who sent the request and what it asked for (request-identity.ts), to tell a retry from a reuse of the id. */
export interface JobIdentity {
  requester: string;
  fingerprint: string;
}

export interface JobListener {
  event(e: GenerateEvent): void;
  /** The job ended: `error` is undefined on success. */
  end(error: DaemonError | undefined): void;
}

/** A latest-value event: `pos` is the history length when it was emitted, where a cursor shows it. */
interface Slot {
  event: GenerateEvent;
  seq: number;
  pos: number;
}

/** One reader of a job's events, in order. The job calls `wake` whenever there is something new to read. */
export class JobCursor {
  private next = 0;
  private queuedSeen = 0;
  private previewSeen = 0;
  private closed = false;

  /** @internal created by Job.cursor() */
  constructor(private readonly job: Job, private readonly history: readonly GenerateEvent[], readonly wake: () => void) {}

  /** The next event, or undefined when caught up (for now, or for good when `done`). */
  read(): GenerateEvent | undefined {
    if (this.closed) return undefined;
    const { queuedSlot: q, previewSlot: p } = this.job;
    // Every stream starts with the job's place in line (the latest one), even if it has started since.
    if (q && q.seq > this.queuedSeen && this.next >= q.pos) {
      this.queuedSeen = q.seq;
      return q.event;
    }
    if (p && p.seq > this.previewSeen && this.next >= p.pos) {
      this.previewSeen = p.seq;
      return p.event;
    }
    if (this.next < this.history.length) return this.history[this.next++];
    return undefined;
  }

  /** True when the job has finished and this cursor has read everything. */
  get done(): boolean {
    if (!this.job.finished) return false;
    const { queuedSlot: q, previewSlot: p } = this.job;
    return this.next >= this.history.length && (!q || q.seq <= this.queuedSeen) && (!p || p.seq <= this.previewSeen);
  }

  /** How the job ended (undefined: success, or not finished). */
  get outcome(): DaemonError | undefined {
    return this.job.outcome;
  }

  /** Stops reading; the job forgets this cursor. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.job.release(this);
  }
}

export class Job {
  state: JobState = 'queued';
  readonly abort = new AbortController();
  /** When the job was admitted (performance.now() ms); a cluster worker's copy of a job says when the gateway admitted it. */
  readonly createdAt: number;
  startedAt = 0;
  finishedAt = 0;
  /** Events every reader must see, in order; never spliced, so cursors stay valid. */
  private readonly history: GenerateEvent[] = [];
  private readonly cursors = new Set<JobCursor>();
  private readonly finishHooks: Array<() => void> = [];
  /** Observers (observe()): told each event as it is emitted; not cursors, so not counted in listenerCount. */
  private readonly observers = new Set<(event: GenerateEvent) => void>();
  private seq = 0;
  /** @internal read by JobCursor */
  queuedSlot: Slot | undefined;
  /** @internal read by JobCursor */
  previewSlot: Slot | undefined;
  /** @internal read by JobCursor */
  outcome: DaemonError | undefined;

  constructor(readonly spec: JobSpec, readonly identity: JobIdentity = { requester: '', fingerprint: '' }, options: { createdAt?: number } = {}) {
    this.createdAt = options.createdAt ?? performance.now();
  }

  get id(): string {
    return this.spec.requestId;
  }

  get finished(): boolean {
    return this.state === 'done' || this.state === 'failed' || this.state === 'cancelled';
  }

  /** Cursors reading this job (streams, and in-process observers such as a draining shutdown). */
  get listenerCount(): number {
    return this.cursors.size;
  }

  emit(event: Omit<GenerateEvent, 'requestId'>): void {
    if (this.finished) return;
    const full: GenerateEvent = { requestId: this.id, ...event };
    if (full.queued) this.queuedSlot = { event: full, seq: ++this.seq, pos: this.history.length };
    // Previews are transient: a reader only needs the newest, so only the newest is kept.
    else if (full.preview) this.previewSlot = { event: full, seq: ++this.seq, pos: this.history.length };
    else this.history.push(full);
    for (const observer of this.observers) observer(full);
    this.wakeAll();
  }

  /**
   * Tells `observer` each event emitted from now on (no replay; pair it with onFinished for the end). An observer is
   * not a reader: it does not count in listenerCount, so a job whose last stream went away is still cancelled while
   * metrics watch it. It must not throw. Returns a function that stops it.
   */
  observe(observer: (event: GenerateEvent) => void): () => void {
    if (!this.finished) this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** A new reader, from the job's beginning. `wake` is called (synchronously) whenever there is more to read. */
  cursor(wake: () => void): JobCursor {
    const c = new JobCursor(this, this.history, wake);
    this.cursors.add(c);
    return c;
  }

  /** Push-style reading for in-process observers: replays what happened so far, then follows. Returns an unsubscribe function. */
  subscribe(listener: JobListener): () => void {
    let ended = false;
    const c = this.cursor(() => {
      if (ended) return;
      for (let e = c.read(); e; e = c.read()) listener.event(e);
      if (c.done) {
        ended = true;
        c.close();
        listener.end(c.outcome);
      }
    });
    c.wake();
    return () => {
      ended = true;
      c.close();
    };
  }

  /** Called once when the job finishes (at once if it has). */
  onFinished(hook: () => void): void {
    if (this.finished) hook();
    else this.finishHooks.push(hook);
  }

  finish(error?: DaemonError): void {
    if (this.finished) return;
    this.state = error ? (error instanceof RequestCancelledError ? 'cancelled' : 'failed') : 'done';
    this.finishedAt = performance.now();
    this.outcome = error;
    this.wakeAll();
    this.observers.clear(); // nothing is emitted after the end
    for (const hook of this.finishHooks.splice(0)) hook();
  }

  /** @internal called by JobCursor.close() */
  release(cursor: JobCursor): void {
    this.cursors.delete(cursor);
  }

  /** Bytes kept for replay (clip chunks and the latest preview): the job table (job-table.ts) evicts finished jobs by it. */
  get retainedBytes(): number {
    let n = this.previewSlot ? payloadBytes(this.previewSlot.event) : 0;
    for (const e of this.history) n += payloadBytes(e);
    return n;
  }

  private wakeAll(): void {
    // A cursor may close itself while woken: iterate over a snapshot.
    for (const c of [...this.cursors]) c.wake();
  }
}

/** Bytes of an event's binary payload (clip chunk or preview image). */
export function payloadBytes(e: GenerateEvent): number {
  return (e.clip?.data as Uint8Array | undefined)?.length ?? (e.preview?.image as Uint8Array | undefined)?.length ?? 0;
}

/** Approximate wire size of an event: its payload plus an allowance for the fields around it. */
export function eventBytes(e: GenerateEvent): number {
  return payloadBytes(e) + 128;
}
