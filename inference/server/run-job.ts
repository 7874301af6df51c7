// Runs one job to its end where the model lives: the single-process daemon's scheduler calls it, and so does a
// cluster worker. Whatever throws, the job ends with a status for everyone following it.
import { asDaemonError, RequestCancelledError } from '../errors.ts';
import { childLogger, type DaemonLogger } from '../log.ts';
import type { ModelRegistry } from '../model/registry.ts';
import type { TextToVideo } from '../pipeline/text-to-video.ts';
import { runGeneration, type GenerationReport } from './generation.ts';
import type { Job } from './job.ts';
import type { Watermark } from '../media/watermark.ts';
import type { OutputSafety } from '../safety/output-safety.ts';
import { jobScreens } from '../safety/job-screens.ts';

export interface RunJobDeps {
  models: ModelRegistry<TextToVideo>;
  log: DaemonLogger;
  /** Observes each finished generation (benchmarks). */
  onGenerationReport?: ((report: GenerationReport, job: Job) => void) | undefined;
  /** The operator's visible mark on every final clip (media/watermark.ts). Default none. */
  watermark?: Watermark | undefined;
  /** The output safety check (inference/safety/): the daemon-wide classifier and the packages' own. Default none. */
  safety?: OutputSafety | undefined;
  /** Log prompts' text in withheld lines (ANIMATE_LOG_PROMPTS). Default false. */
  logPrompts?: boolean | undefined;
  /** Write prompts into each MP4's metadata (ANIMATE_PROVENANCE_PROMPTS). Default false. */
  provenancePrompts?: boolean | undefined;
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
  const { models } = deps;
  // Every line about this job carries its id (the request_id) as jobId.
  const log = childLogger(deps.log, { jobId: job.id });
  job.state = 'running';
  job.startedAt = performance.now();
  const spec = job.spec;
  try {
    // A restarted job says Started again (a relay drops the copy where the first arrived; where the first attempt died
    // before publishing it, this one is the only one), then that steps count from 0.
    job.emit({ started: { model: spec.model, seed: spec.seed, totalSteps: spec.steps, frames: spec.frames, width: spec.width, height: spec.height, fps: spec.fps, guidanceScale: spec.guidanceScale, scheduler: spec.scheduler } });
    if (options.announce === 'restarted') job.emit({ progress: { step: 0, totalSteps: spec.steps, elapsedSeconds: 0, etaSeconds: 0, stage: 'restarted' } });
    log.info(options.announce === 'restarted' ? 'job restarted' : 'job started', { model: spec.model, user: spec.requester.userId || undefined, steps: spec.steps, seed: spec.seed });
    const pipeline = await models.load(spec.model);
    // The clip (and each preview) is looked at before it is sent; a flagged clip ends the job with OUTPUT_WITHHELD.
    const screens = jobScreens(deps.safety, pipeline.pkg, job, { log, logPrompts: deps.logPrompts });
    const report = await runGeneration(job, pipeline, { watermark: deps.watermark, provenancePrompts: deps.provenancePrompts, ...screens });
    deps.onGenerationReport?.(report, job);
    job.finish();
    log.info('job done', { ms: report.totalMs, firstPreviewMs: report.firstPreviewMs });
  } catch (err) {
    const reason: unknown = job.abort.signal.aborted ? job.abort.signal.reason : err;
    const error = asDaemonError(reason);
    job.finish(error);
    log[error instanceof RequestCancelledError ? 'info' : 'error'](`job ${error instanceof RequestCancelledError ? 'cancelled' : 'failed'}`, { code: error.code, message: error.message });
  }
}
