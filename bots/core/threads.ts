// Which job is the latest of each conversation thread, so that a message typed there refines the right clip. A job
// learns its thread at different moments (at start, when its surface opens the thread, when an adapter links it
// late, when it ends); this module is the one place that ties the two, once per job and thread.
import type { Clock } from './clock.ts';
import type { ConversationStore } from './conversation.ts';
import type { JobRecord } from './jobs.ts';

export class JobThreads {
  constructor(
    private readonly conversations: ConversationStore,
    private readonly clock: Clock,
  ) {}

  /**
   * Makes `job` the latest job of `threadId` as soon as the thread is known: a follow-up can arrive the moment the
   * clip shows. Only once per thread, so a follow-up recorded there since stays the latest.
   */
  record(job: JobRecord, threadId: string | undefined): void {
    if (!threadId || job.thread === threadId) return;
    job.thread = threadId;
    this.conversations.record(threadId, job.id, job.options, this.clock.now());
    if (job.result) this.conversations.completed(threadId, job.id, { seed: job.result.seed, fps: job.result.fps });
  }

  /** A delivered job: its thread (now surely known) remembers the seed and fps the daemon used. */
  delivered(job: JobRecord, threadId: string | undefined, used: { seed: number; fps: number }): void {
    this.record(job, threadId);
    if (job.thread) this.conversations.completed(job.thread, job.id, used);
  }
}
