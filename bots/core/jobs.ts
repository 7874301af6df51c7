// The bot's book of chat jobs by id (ChatJobs), so that buttons pressed minutes later still find the job's requester,
// settings, surface and state. Bounded: finished jobs expire after `ttlMs` and the oldest are dropped beyond
// `maxJobs` and beyond `maxImageBytes` of images held. (Not the daemon's registry of running generations: this one
// remembers what a person can press a button on.)
import type { ClipInfo, JobSurface, Requester } from './adapter.ts';
import type { BotError } from './errors.ts';
import type { AnimateOptions } from './options.ts';

export type JobState = 'accepted' | 'queued' | 'running' | 'delivered' | 'failed' | 'cancelled';

export type JobOutcome =
  | { readonly jobId: string; readonly status: 'delivered'; readonly info: ClipInfo }
  | { readonly jobId: string; readonly status: 'failed'; readonly error: BotError }
  | { readonly jobId: string; readonly status: 'cancelled'; readonly by: string };

export interface JobRecord {
  readonly id: string;
  readonly requester: Requester;
  /** The options this job runs with (prompt included; `seed` is the requested one, if any). */
  readonly options: AnimateOptions;
  readonly surface: JobSurface;
  /** The job this one was born from (reroll / variations / refine / follow-up), if any. */
  readonly parentId?: string | undefined;
  readonly variant?: { readonly index: number; readonly count: number } | undefined;
  readonly createdAt: number;
  state: JobState;
  /** The seed requested from the daemon (variants get neighbouring ones); the used seed is in `result`. */
  seed?: number | undefined;
  /** Set when a person cancelled it (display name or id), so the stream's CANCELLED ends in surface.cancelled. */
  cancelledBy?: string | undefined;
  /** Set when the bot stops the job itself (shutdown): the surface gets this error instead of a cancel notice. */
  stopReason?: BotError | undefined;
  /** Aborts the gRPC call (used when Cancel cannot reach the daemon). */
  readonly abort: AbortController;
  result?: ClipInfo | undefined;
  /** The conversation thread this job was recorded as the latest job of (once known), so it is recorded only once. */
  thread?: string | undefined;
  finishedAt?: number | undefined;
  /** Resolves when the job has ended and its surface has been told. */
  readonly finished: Promise<JobOutcome>;
}

export const isActive = (job: JobRecord): boolean => job.state === 'accepted' || job.state === 'queued' || job.state === 'running';

export interface ChatJobsOptions {
  /** How long finished jobs stay available to buttons. Default DEFAULT_CHAT_JOBS.ttlMs (24 h). */
  ttlMs?: number;
  /** Most jobs remembered; the oldest finished ones go first. Default DEFAULT_CHAT_JOBS.maxJobs (5000). */
  maxJobs?: number;
  /**
   * Bytes of images the remembered jobs may hold (attached images and the last frames Extend starts from: up to
   * 10 MiB each); past it the oldest finished jobs holding one are forgotten. Default DEFAULT_CHAT_JOBS.maxImageBytes
   * (256 MiB).
   */
  maxImageBytes?: number;
}

export const DEFAULT_CHAT_JOBS: Readonly<Required<ChatJobsOptions>> = Object.freeze({ ttlMs: 24 * 3600_000, maxJobs: 5000, maxImageBytes: 256 * 1024 * 1024 });

/** Image bytes a job keeps alive (its attached image and its clip's last frame). */
const imageBytesOf = (job: JobRecord): number => (job.options.image?.bytes.length ?? 0) + (job.result?.lastFrame?.length ?? 0);

export class ChatJobs {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly ttlMs: number;
  private readonly maxJobs: number;
  private readonly maxImageBytes: number;

  constructor(options: ChatJobsOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_CHAT_JOBS.ttlMs;
    this.maxJobs = options.maxJobs ?? DEFAULT_CHAT_JOBS.maxJobs;
    this.maxImageBytes = options.maxImageBytes ?? DEFAULT_CHAT_JOBS.maxImageBytes;
  }

  add(job: JobRecord, now: number): void {
    this.jobs.set(job.id, job);
    this.prune(now);
  }

  get(id: string, now?: number): JobRecord | undefined {
    const job = this.jobs.get(id);
    if (job && now !== undefined && !isActive(job) && job.finishedAt !== undefined && now - job.finishedAt > this.ttlMs) {
      this.jobs.delete(id);
      return undefined;
    }
    return job;
  }

  /** Jobs still queued or running. */
  active(): JobRecord[] {
    return [...this.jobs.values()].filter(isActive);
  }

  get size(): number {
    return this.jobs.size;
  }

  private prune(now: number): void {
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= this.maxJobs && (job.finishedAt === undefined || now - job.finishedAt <= this.ttlMs)) continue;
      if (!isActive(job)) this.jobs.delete(id);
    }
    // Oldest first (insertion order); a job still running keeps its image (it is being sent or used).
    let imageBytes = 0;
    for (const job of this.jobs.values()) imageBytes += imageBytesOf(job);
    for (const [id, job] of this.jobs) {
      if (imageBytes <= this.maxImageBytes) break;
      const bytes = imageBytesOf(job);
      if (bytes === 0 || isActive(job)) continue;
      this.jobs.delete(id);
      imageBytes -= bytes;
    }
  }
}
