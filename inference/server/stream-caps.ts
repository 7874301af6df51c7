// Caps on Generate streams, per job and per client connection, so replays of a finished job cannot be opened without
// bound. A slot is taken when a stream is admitted and given back when it ends, however it ends.
import { TooManyStreamsError } from '../errors.ts';
import type { Job } from './job.ts';

/** Streams following one job at most. */
export const DEFAULT_MAX_STREAMS_PER_JOB = 8;
/** Streams on one client connection at most: a bot carries every person's job on one connection. */
export const DEFAULT_MAX_STREAMS_PER_CONNECTION = 256;

export interface StreamCapsOptions {
  /** See DEFAULT_MAX_STREAMS_PER_JOB. */
  perJob?: number | undefined;
  /** See DEFAULT_MAX_STREAMS_PER_CONNECTION. */
  perConnection?: number | undefined;
}

export class StreamCaps {
  readonly perJob: number;
  readonly perConnection: number;
  private readonly byConnection = new Map<string, number>();
  private readonly byJob = new WeakMap<Job, number>();

  constructor(options: StreamCapsOptions = {}) {
    this.perJob = options.perJob ?? DEFAULT_MAX_STREAMS_PER_JOB;
    this.perConnection = options.perConnection ?? DEFAULT_MAX_STREAMS_PER_CONNECTION;
  }

  /** Throws TooManyStreamsError when the connection (`peer`, from call.getPeer()) has no slot left. */
  checkConnection(peer: string): void {
    if ((this.byConnection.get(peer) ?? 0) >= this.perConnection) {
      throw new TooManyStreamsError(`this connection already has ${this.perConnection} Generate streams open (the most allowed); wait for one to end, or open another connection`);
    }
  }

  /** Takes a slot for a stream of `job` on `peer`; returns the function that gives it back (idempotent). */
  acquire(peer: string, job: Job): () => void {
    this.checkConnection(peer);
    const onJob = this.byJob.get(job) ?? 0;
    if (onJob >= this.perJob) {
      throw new TooManyStreamsError(`request ${job.id} already has ${this.perJob} streams following it (the most allowed); wait for one to end`);
    }
    this.byJob.set(job, onJob + 1);
    this.byConnection.set(peer, (this.byConnection.get(peer) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.byJob.set(job, (this.byJob.get(job) ?? 1) - 1);
      const n = (this.byConnection.get(peer) ?? 1) - 1;
      if (n > 0) this.byConnection.set(peer, n);
      else this.byConnection.delete(peer);
    };
  }
}
