// Runs one job to its end where the model lives: the single-process daemon's scheduler calls it, and so does a
// cluster worker. Whatever throws, the job ends with a status for everyone following it.
import { asDaemonError, RequestCancelledError } from '../errors.ts';
import type { DaemonLogger } from '../log.ts';
import type { ModelRegistry } from '../model/registry.ts';
import type { TextToVideo } from '../pipeline/text-to-video.ts';
import { runGeneration, type GenerationReport } from './generation.ts';
import type { Job } from './job.ts';

export interface RunJobDeps {
  models: ModelRegistry<TextToVideo>;
  log: DaemonLogger;
  /** Observes each finished generation (benchmarks). */
  onGenerationReport?: ((report: GenerationReport, job: Job) => void) | undefined;
}

export interface RunJobOptions {
  /**
   * How the run is announced: 'started' (the Started event), or 'restarted' (a cluster job taken up again after its
   * worker died: Started, then a Progress with stage "restarted" saying steps count from 0).
   */
  announce?: 'started' | 'restarted';
}

export async function runJob(job: Job, deps: RunJobDeps, options: RunJobOptions = {}): Promise<void> {
  if (job.finished) return;
  const { models, log } = deps;
  job.state = 'running';
  job.startedAt = performance.now();
  const spec = job.spec;
  try {
    // A restarted job says Started again (a relay drops the copy where the first arrived; where the first attempt died
    // before publishing it, this one is the only one), then that steps count from 0.
    job.emit({ started: { model: spec.model, seed: spec.seed, totalSteps: spec.steps, frames: spec.frames, width: spec.width, height: spec.height, fps: spec.fps, guidanceScale: spec.guidanceScale, scheduler: spec.scheduler } });
    if (options.announce === 'restarted') job.emit({ progress: { step: 0, totalSteps: spec.steps, elapsedSeconds: 0, etaSeconds: 0, stage: 'restarted' } });
    log.info(options.announce === 'restarted' ? 'job restarted' : 'job started', { id: job.id, model: spec.model, user: spec.requester.userId || undefined, steps: spec.steps, seed: spec.seed });
    const pipeline = await models.load(spec.model);
    const report = await runGeneration(job, pipeline);
    deps.onGenerationReport?.(report, job);
    job.finish();
    log.info('job done', { id: job.id, ms: report.totalMs, firstPreviewMs: report.firstPreviewMs });
  } catch (err) {
    const reason: unknown = job.abort.signal.aborted ? job.abort.signal.reason : err;
    const error = asDaemonError(reason);
    job.finish(error);
    log[error instanceof RequestCancelledError ? 'info' : 'error'](`job ${error instanceof RequestCancelledError ? 'cancelled' : 'failed'}`, { id: job.id, code: error.code, message: error.message });
  }
}
