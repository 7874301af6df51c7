// Jobs by request id. Finished jobs stay for a while so a retried request id gets the same result instead of a
// second generation; the oldest are dropped beyond a count, a byte budget or an age.
import type { Job } from './job.ts';

export interface JobRegistryOptions {
  /** Finished jobs kept for replay. Default 64. */
  keepFinished?: number;
  /** Bytes of finished clips kept for replay. Default 256 MiB. */
  keepBytes?: number;
  /** Age after which a finished job is forgotten, ms. Default 15 minutes. */
  keepMs?: number;
  now?: () => number;
}

export class JobRegistry {
  private readonly jobs = new Map<string, Job>();
  private readonly keepFinished: number;
  private readonly keepBytes: number;
  private readonly keepMs: number;
  private readonly now: () => number;

  constructor(options: JobRegistryOptions = {}) {
    this.keepFinished = options.keepFinished ?? 64;
    this.keepBytes = options.keepBytes ?? 256 * 1024 * 1024;
    this.keepMs = options.keepMs ?? 15 * 60 * 1000;
    this.now = options.now ?? (() => performance.now());
  }

  get(id: string): Job | undefined {
    this.evict();
    return this.jobs.get(id);
  }

  add(job: Job): void {
    this.evict();
    this.jobs.set(job.id, job);
  }

  active(): Job[] {
    return [...this.jobs.values()].filter((j) => !j.finished);
  }

  private evict(): void {
    const finished = [...this.jobs.values()].filter((j) => j.finished).sort((a, b) => a.finishedAt - b.finishedAt);
    let bytes = finished.reduce((n, j) => n + j.retainedBytes, 0);
    let count = finished.length;
    for (const job of finished) {
      const tooOld = this.now() - job.finishedAt > this.keepMs;
      if (!tooOld && count <= this.keepFinished && bytes <= this.keepBytes) break;
      this.jobs.delete(job.id);
      count -= 1;
      bytes -= job.retainedBytes;
    }
  }
}
