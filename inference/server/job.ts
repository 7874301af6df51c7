// One generation request's life on the daemon: its state, the events it has emitted (so a retried request id,
// or a second stream for the same id, sees the whole story), and the streams listening to it.
import type { GenerateEvent } from '../../shared/rpc/types.ts';
import { CancelledError, type DaemonError } from '../errors.ts';
import type { JobSpec } from './validate.ts';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface JobListener {
  event(e: GenerateEvent): void;
  /** The job ended: `error` is undefined on success. */
  end(error: DaemonError | undefined): void;
}

export class Job {
  state: JobState = 'queued';
  readonly abort = new AbortController();
  readonly createdAt = performance.now();
  startedAt = 0;
  finishedAt = 0;
  private readonly history: GenerateEvent[] = [];
  private readonly listeners = new Set<JobListener>();
  private outcome: DaemonError | undefined;
  /** Latest queue event: replayed instead of the full queue history. */
  private lastQueued: GenerateEvent | undefined;

  constructor(readonly spec: JobSpec) {}

  get id(): string {
    return this.spec.requestId;
  }

  get finished(): boolean {
    return this.state === 'done' || this.state === 'failed' || this.state === 'cancelled';
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  emit(event: Omit<GenerateEvent, 'requestId'>): void {
    const full: GenerateEvent = { requestId: this.id, ...event };
    if (full.queued) this.lastQueued = full;
    // Previews are transient: a late listener only needs the newest, so history keeps the last one.
    else if (full.preview) {
      const i = this.history.findIndex((e) => e.preview);
      if (i >= 0) this.history.splice(i, 1);
      this.history.push(full);
    } else this.history.push(full);
    for (const l of this.listeners) l.event(full);
  }

  /** Replays what happened so far, then follows. Returns an unsubscribe function. */
  subscribe(listener: JobListener): () => void {
    // Every stream starts with the job's place in line (the latest one), even if it has started since.
    if (this.lastQueued) listener.event(this.lastQueued);
    for (const e of this.history) listener.event(e);
    if (this.finished) {
      listener.end(this.outcome);
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  finish(error?: DaemonError): void {
    if (this.finished) return;
    this.state = error ? (error instanceof CancelledError ? 'cancelled' : 'failed') : 'done';
    this.finishedAt = performance.now();
    this.outcome = error;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const l of listeners) l.end(error);
  }

  /** Bytes kept for replay: finished jobs are evicted by the registry when this grows. */
  get retainedBytes(): number {
    let n = 0;
    for (const e of this.history) n += (e.clip?.data as Buffer | undefined)?.length ?? 0;
    return n;
  }

  dropHistory(): void {
    this.history.length = 0;
  }
}
