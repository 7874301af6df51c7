// Turns one admitted job into a JobRecord and runs it to its end: records it in the book and its thread, tells the
// surface it was accepted, streams it (job-runner), frees its usage slot, and settles `finished` exactly once,
// whatever the surface or the daemon does.
import type { AnimatorConnection } from '../../shared/rpc/client.ts';
import type { GenerateRequest, ModelInfo__Output } from '../../shared/rpc/types.ts';
import type { AcceptedJob, JobSurface, Requester } from './adapter.ts';
import type { AnimateExtra } from './api.ts';
import type { Clock } from './clock.ts';
import { toBotError } from './errors.ts';
import { runJob } from './job-runner.ts';
import type { ChatJobs, JobOutcome, JobRecord } from './jobs.ts';
import { withFields, type Logger } from './logger.ts';
import type { BotMetrics } from './metrics.ts';
import type { AnimateOptions } from './options.ts';
import { buildGenerateRequest } from './request.ts';
import type { JobThreads } from './threads.ts';
import type { LivenessOptions } from './watchdog.ts';

export interface JobLaunchContext {
  jobs: ChatJobs;
  threads: JobThreads;
  connection: AnimatorConnection;
  clock: Clock;
  logger: Logger;
  /** The gRPC deadline of each whole job; undefined = none. */
  deadlineMs: number | undefined;
  liveness: LivenessOptions;
  /** Counts the job's outcome and its time to the first reply; undefined = not counted. */
  metrics?: BotMetrics | undefined;
}

/** One job as admission decided it: which surface, which options (one variant), which seed. */
export interface JobSpec {
  id: string;
  surface: JobSurface;
  requester: Requester;
  options: AnimateOptions;
  variant: { index: number; count: number } | undefined;
  model: ModelInfo__Output | undefined;
  seed: number | undefined;
  extra: AnimateExtra;
  /** Called once when the job has ended (before `finished` settles): frees its usage slot. */
  onEnd: () => void;
}

/** Creates the job's record, starts it in the background and returns the record at once. */
export function launchJob(ctx: JobLaunchContext, spec: JobSpec): JobRecord {
  let resolveFinished!: (o: JobOutcome) => void;
  const finished = new Promise<JobOutcome>((r) => (resolveFinished = r));
  const job: JobRecord = {
    id: spec.id,
    requester: spec.requester,
    options: spec.options,
    surface: spec.surface,
    parentId: spec.extra.parentId,
    variant: spec.variant,
    createdAt: ctx.clock.now(),
    state: 'accepted',
    seed: spec.seed,
    abort: new AbortController(),
    finished,
  };
  ctx.jobs.add(job, ctx.clock.now());
  ctx.threads.record(job, spec.extra.threadId ?? spec.surface.threadId);
  const request = buildGenerateRequest(spec.options, { jobId: job.id, requester: spec.requester, adapter: spec.surface.adapter, model: spec.model, seed: spec.seed });
  void runToEnd(ctx, job, spec, request).then(resolveFinished);
  return job;
}

/** What the person is shown first: the job was taken, with what it was derived from and which variant it is. */
function acceptedJob(job: JobRecord, spec: JobSpec): AcceptedJob {
  return {
    jobId: job.id,
    options: spec.options,
    prompt: spec.options.prompt,
    requester: spec.requester,
    ...(spec.extra.derivedFrom ? { derivedFrom: spec.extra.derivedFrom } : {}),
    ...(spec.variant ? { variant: spec.variant } : {}),
  };
}

/** Never rejects: every path ends with an outcome, after onEnd. */
async function runToEnd(ctx: JobLaunchContext, job: JobRecord, spec: JobSpec, request: GenerateRequest): Promise<JobOutcome> {
  const { surface } = job;
  // Every line about this job carries its id (a child of a structured logger; other loggers as they are).
  const logger = withFields(ctx.logger, { jobId: job.id });
  const platform = surface.adapter.platform;
  const receivedAt = spec.extra.receivedAt ?? job.createdAt;
  let outcome: JobOutcome;
  try {
    try {
      await surface.accepted(acceptedJob(job, spec));
      // The first reply to the request: its first job's accepted message (variants after the first are later posts).
      if ((spec.variant?.index ?? 1) === 1) ctx.metrics?.acknowledged(platform, (ctx.clock.now() - receivedAt) / 1000);
    } catch (err) {
      logger.warn(`job ${job.id}: accepted() failed`, err);
    }
    // A surface may open its thread when the job is accepted (Slack's parent message): known from now on, so that a
    // reply typed the moment the clip shows refines this job even if it arrives before the job's end is processed.
    ctx.threads.record(job, surface.threadId);
    outcome = await runJob(job, request, { connection: ctx.connection, clock: ctx.clock, logger, deadlineMs: ctx.deadlineMs, liveness: ctx.liveness, metrics: ctx.metrics, receivedAt });
  } catch (err) {
    // runJob never rejects; this is a last resort so `finished` always settles.
    outcome = { jobId: job.id, status: 'failed', error: toBotError(err) };
  }
  spec.onEnd();
  ctx.metrics?.jobEnded(platform, outcome.status);
  if (outcome.status === 'delivered') ctx.threads.delivered(job, surface.threadId, { seed: outcome.info.seed, fps: outcome.info.fps });
  return outcome;
}
