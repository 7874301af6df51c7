// The daemon's table of jobs by request id (the bots keep their own record of jobs; this one holds the daemon's
// Job objects: their streams, replay history and abort signal). Finished jobs stay for a while so a retried request id gets the same result instead of a
// second generation; the oldest are dropped beyond a count, a byte budget or an age.
//
// Every call is O(1) amortised whatever the number of jobs waiting: finished jobs are kept in the order they
// finished, with their byte total, and evicted from the front; queued and running jobs are never looked at.
import type { Job } from './job.ts';

export interface JobTableOptions {
  /** Finished jobs kept for replay. Default 64. */
  keepFinished?: number;
  /** Bytes of finished clips kept for replay. Default 256 MiB. */
  keepBytes?: number;
  /** Age after which a finished job is forgotten, ms. Default 15 minutes. */
  keepMs?: number;
  now?: () => number;
  /** Called with each job added (the daemon's metrics observe every job from its admission). Default: none. */
  onAdd?: (job: Job) => void;
}

interface FinishedEntry {
  job: Job;
  bytes: number;
  at: number;
}

export class JobTable {
  private readonly jobs = new Map<string, Job>();
  /** Finished jobs, oldest first, from `head` on (a moving start instead of shift(), compacted now and then). */
  private finished: FinishedEntry[] = [];
  private head = 0;
  private finishedBytes = 0;
  private readonly keepFinished: number;
  private readonly keepBytes: number;
  private readonly keepMs: number;
  private readonly now: () => number;
  private readonly onAdd: ((job: Job) => void) | undefined;

  constructor(options: JobTableOptions = {}) {
    this.keepFinished = options.keepFinished ?? 64;
    this.keepBytes = options.keepBytes ?? 256 * 1024 * 1024;
    this.keepMs = options.keepMs ?? 15 * 60 * 1000;
    this.now = options.now ?? (() => performance.now());
    this.onAdd = options.onAdd;
  }

  get(id: string): Job | undefined {
    this.evict();
    return this.jobs.get(id);
  }

  add(job: Job): void {
    this.evict();
    this.jobs.set(job.id, job);
    job.onFinished(() => {
      const bytes = job.retainedBytes;
      this.finished.push({ job, bytes, at: this.now() });
      this.finishedBytes += bytes;
      this.evict();
    });
    this.onAdd?.(job);
  }

  /** Jobs queued or running. O(jobs): for shutdown, not for the request path. */
  active(): Job[] {
    return [...this.jobs.values()].filter((j) => !j.finished);
  }

  /** Finished jobs kept for replay. */
  get finishedCount(): number {
    return this.finished.length - this.head;
  }

  private evict(): void {
    const now = this.now();
    while (this.head < this.finished.length) {
      const oldest = this.finished[this.head]!;
      const tooOld = now - oldest.at > this.keepMs;
      if (!tooOld && this.finishedCount <= this.keepFinished && this.finishedBytes <= this.keepBytes) break;
      this.head += 1;
      this.finishedBytes -= oldest.bytes;
      // A newer job may hold the id by now (it was evicted and reused): only forget this one.
      if (this.jobs.get(oldest.job.id) === oldest.job) this.jobs.delete(oldest.job.id);
    }
    if (this.head > 1024 && this.head * 2 > this.finished.length) {
      this.finished = this.finished.slice(this.head);
      this.head = 0;
    }
  }
}
