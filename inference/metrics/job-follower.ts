// Turns one Job's events into the figures the daemon's metrics record (how it ended, how long it took from admission,
// how long from its start to its first preview, how long each denoising step took), without being one of its
// readers: it follows the job through Job.observe (not a cursor, so Job.listenerCount, which decides "nobody follows
// this job any more, cancel it", never counts it) and Job.onFinished. Kept apart from prom-client (registry.ts) so
// its arithmetic can be checked with hand-made events.
import type { GenerateEvent } from '../../shared/rpc/types.ts';
import type { Job, JobState } from '../server/job.ts';

/** How a job ended, as the animate_jobs_total `outcome` label says it. */
export type JobOutcome = Exclude<JobState, 'queued' | 'running'>;

/** Where the figures of one job go (DaemonMetrics records them in its histograms and counter). */
export interface JobFigures {
  /** One denoising step took this long (called once per step). */
  stepSeconds(seconds: number): void;
  /** The first preview came this long after the job started (called at most once). */
  firstPreviewSeconds(seconds: number): void;
  /** The job ended: `code` is '' on success, its DaemonErrorCode otherwise; latency is from admission to the end. */
  ended(outcome: JobOutcome, code: string, latencySeconds: number): void;
}

/**
 * Follows `job` from now to its end. `now` is the clock in ms; it must be the one Job's own times use
 * (performance.now: job.createdAt and job.startedAt), which is the default of DaemonMetrics.
 *
 * Step times come from the differences of consecutive Progress events of stage "denoise" (elapsed seconds, divided by
 * the steps between them). The first step has no predecessor and its elapsed time includes text encoding, so the
 * steps never timed that way are recorded at the Done's mean (timings.perStepMs): a finished job records exactly its
 * step count. A Progress of another stage that is not "encode" (a cluster's "restarted") or a step that goes back
 * starts the differences afresh, so a restarted attempt never gives a negative or merged step.
 */
export function followJob(job: Job, figures: JobFigures, now: () => number): void {
  // A job may have started before it was observed (the scheduler can run it while it is being admitted).
  let startedAt: number | undefined = job.state === 'queued' ? undefined : job.startedAt || now();
  let previewSeen = false;
  let last: { step: number; elapsed: number } | undefined;
  let timedSteps = 0;

  const onEvent = (e: GenerateEvent): void => {
    if (e.started) {
      startedAt ??= job.startedAt || now();
    } else if (e.preview) {
      if (!previewSeen && startedAt !== undefined) {
        previewSeen = true;
        figures.firstPreviewSeconds(Math.max(0, now() - startedAt) / 1000);
      }
    } else if (e.progress) {
      const stage = e.progress.stage ?? '';
      if (stage !== 'denoise') {
        if (stage !== 'encode') last = undefined;
        return;
      }
      const step = Number(e.progress.step ?? 0);
      const elapsed = Number(e.progress.elapsedSeconds ?? 0);
      if (last && step > last.step && elapsed >= last.elapsed) {
        const steps = step - last.step;
        const each = (elapsed - last.elapsed) / steps;
        for (let i = 0; i < steps; i++) figures.stepSeconds(each);
        timedSteps += steps;
      }
      last = { step, elapsed };
    } else if (e.done) {
      const perStepMs = Number(e.done.timings?.perStepMs ?? 0);
      const untimed = Number(e.done.steps ?? 0) - timedSteps;
      if (perStepMs > 0) for (let i = 0; i < untimed; i++) figures.stepSeconds(perStepMs / 1000);
    }
  };

  const stop = job.observe((e) => {
    // Metrics must never break a job: a figure that cannot be recorded is lost, the job goes on.
    try {
      onEvent(e);
    } catch {
      /* see above */
    }
  });
  job.onFinished(() => {
    stop();
    const outcome: JobOutcome = job.state === 'done' ? 'done' : job.state === 'cancelled' ? 'cancelled' : 'failed';
    figures.ended(outcome, outcome === 'done' ? '' : (job.outcome?.code ?? ''), Math.max(0, now() - job.createdAt) / 1000);
  });
}
