// The single-process daemon's dispatcher: jobs wait in this process's fair scheduler and run on its own model worker.
import { randomUUID } from 'node:crypto';
import type { GenerateRequest__Output } from '../../shared/rpc/types.ts';
import { RequestIdTakenError, type DaemonError } from '../errors.ts';
import type { FairScheduler } from '../queue/fair-scheduler.ts';
import { knownJob, type CancelState, type JobDispatcher } from './dispatcher.ts';
import { Job, type JobIdentity } from './job.ts';
import type { JobTable } from './job-table.ts';
import { runJob, type RunJobDeps } from './run-job.ts';
import { validateGenerateRequest } from './validate.ts';

export interface LocalDispatcherDeps extends RunJobDeps {
  scheduler: FairScheduler;
  jobs: JobTable;
}

export class LocalDispatcher implements JobDispatcher {
  constructor(private readonly deps: LocalDispatcherDeps) {}

  async admit(request: GenerateRequest__Output, identity: JobIdentity): Promise<Job> {
    const { models, scheduler, jobs, log } = this.deps;
    const existing = knownJob(jobs, request, identity, log);
    if (existing) return existing;
    const pkg = models.package(request.model);
    const spec = validateGenerateRequest(request, pkg, () => randomUUID());
    const job = new Job(spec, identity);
    // Fair share is per person on a platform and server, the same identity a request_id belongs to.
    const owner = identity.requester;
    scheduler.enqueue({
      id: job.id,
      owner,
      run: () => runJob(job, this.deps),
      onPosition: (position, queueLength, etaSeconds) => job.emit({ queued: { position, queueLength, etaSeconds } }),
      // The queue was full and this job's place went to someone with nothing waiting: its streams end RESOURCE_EXHAUSTED.
      onEvicted: (error) => {
        log.info('job evicted from a full queue', { jobId: job.id, owner, retryAfterMs: error.retryAfterMs });
        job.finish(error);
      },
    });
    jobs.add(job);
    log.info('job queued', { jobId: job.id, owner, queued: scheduler.queuedCount });
    return job;
  }

  cancel(job: Job, error: DaemonError): void {
    if (job.finished) return;
    if (this.deps.scheduler.remove(job.id)) job.finish(error);
    else job.abort.abort(error);
  }

  async cancelById(requestId: string, requester: string | undefined, error: DaemonError): Promise<CancelState> {
    const job = this.deps.jobs.get(requestId);
    if (!job) return 'unknown';
    if (requester !== undefined && requester !== job.identity.requester) throw new RequestIdTakenError(job.id);
    const state = job.finished ? 'finished' : job.state === 'queued' ? 'queued' : 'running';
    this.cancel(job, error);
    return state;
  }
}
