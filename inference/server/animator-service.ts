// The Animator gRPC service: admission (auth, validation, idempotency, queue), streaming of job events, Cancel and
// ListModels. Every failure reaches the caller as a gRPC status with a message a person understands, and a short one:
// user text is quoted as an excerpt and every status is capped in size (excerpt.ts), so no status can wedge the
// connection that carries it. A request_id belongs to its requester (request-identity.ts).
import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { AnimatorHandlers, GenerateRequest__Output, ModelInfo } from '../../shared/rpc/types.ts';
import { RequestCancelledError, DaemonError, DeadlineExceededError, QueueFullError, RequestIdReusedError, RequestIdTakenError, ShuttingDownError, UnauthenticatedError, asDaemonError } from '../errors.ts';
import type { DaemonLogger } from '../log.ts';
import { redactServerDetail } from '../../shared/redact.ts';
import { DAEMON_ERROR_STATUS, ERROR_CODE_TRAILER, RETRY_AFTER_TRAILER } from '../../shared/wire/error-codes.ts';
import type { ModelRegistry } from '../model/registry.ts';
import type { TextToVideo } from '../pipeline/text-to-video.ts';
import { SCHEDULER_NAMES } from '../schedulers/index.ts';
import type { FairScheduler } from '../queue/fair-scheduler.ts';
import { streamJobEvents } from './event-stream.ts';
import { capBytes, capStatusMessage, excerpt, METADATA_VALUE_BYTES } from '../excerpt.ts';
import { runGeneration } from './generation.ts';
import { Job } from './job.ts';
import type { JobTable } from './job-table.ts';
import { requesterKey, requestFingerprint } from './request-identity.ts';
import { StreamCaps } from './stream-caps.ts';
import { validateGenerateRequest, wireModelDefaults, wireModelLimits } from './validate.ts';
import { checkAuth } from './auth.ts';

export interface ServiceDeps {
  models: ModelRegistry<TextToVideo>;
  scheduler: FairScheduler;
  jobs: JobTable;
  log: DaemonLogger;
  token?: string | undefined;
  isShuttingDown: () => boolean;
  /** Generate streams following one job at most. Default DEFAULT_MAX_STREAMS_PER_JOB (8). */
  maxStreamsPerJob?: number;
  /** Generate streams on one client connection at most. Default DEFAULT_MAX_STREAMS_PER_CONNECTION (256). */
  maxStreamsPerConnection?: number;
  /** Observes each finished generation (benchmarks, metrics). */
  onGenerationReport?: (report: Awaited<ReturnType<typeof runGeneration>>, job: Job) => void;
}

export function toServiceError(err: DaemonError): Partial<grpc.StatusObject> & { code: grpc.status; details: string } {
  const metadata = new grpc.Metadata();
  // Trailers are headers: every value stays small, whatever an error carries.
  const set = (key: string, value: string) => metadata.set(key, capBytes(value, METADATA_VALUE_BYTES));
  if (err instanceof QueueFullError) set(RETRY_AFTER_TRAILER, String(err.retryAfterMs));
  set(ERROR_CODE_TRAILER, err.code);
  // The status comes from the one table of the wire (shared/wire/error-codes.ts); errors carry only their code.
  // No absolute server path or stack trace reaches a client (shared/redact.ts).
  return { code: DAEMON_ERROR_STATUS[err.code], details: capStatusMessage(redactServerDetail(err.message)), metadata };
}

/** Refusals that ask the person to send the request again: a retry with the same request_id runs it. */
function isSendAgainRefusal(outcome: DaemonError | undefined): boolean {
  return outcome instanceof QueueFullError || outcome instanceof ShuttingDownError;
}

export function createAnimatorHandlers(deps: ServiceDeps): AnimatorHandlers {
  const { models, scheduler, jobs, log } = deps;
  const caps = new StreamCaps({ perJob: deps.maxStreamsPerJob, perConnection: deps.maxStreamsPerConnection });

  async function execute(job: Job): Promise<void> {
    if (job.finished) return;
    job.state = 'running';
    job.startedAt = performance.now();
    const spec = job.spec;
    try {
      // Inside the try: whatever throws, the job still ends with a status for everyone following it.
      job.emit({ started: { model: spec.model, seed: spec.seed, totalSteps: spec.steps, frames: spec.frames, width: spec.width, height: spec.height, fps: spec.fps, guidanceScale: spec.guidanceScale, scheduler: spec.scheduler } });
      log.info('job started', { id: job.id, model: spec.model, user: spec.requester.userId || undefined, steps: spec.steps, seed: spec.seed });
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

  function admit(request: GenerateRequest__Output): Job {
    if (deps.isShuttingDown()) throw new ShuttingDownError('the daemon is shutting down and takes no new requests; try again shortly');
    const identity = { requester: requesterKey(request), fingerprint: requestFingerprint(request) };
    const existing = request.requestId ? jobs.get(request.requestId) : undefined;
    if (existing) {
      if (existing.identity.requester !== identity.requester) throw new RequestIdTakenError(request.requestId);
      if (existing.identity.fingerprint !== identity.fingerprint) throw new RequestIdReusedError(request.requestId);
      // A job refused before it ran (the queue was full, or the daemon was stopping) told its person to send it
      // again: the retry queues anew instead of replaying the refusal.
      if (!(existing.finished && isSendAgainRefusal(existing.outcome))) {
        log.info('request id seen before: streaming the existing job', { id: existing.id, state: existing.state });
        return existing;
      }
      log.info('request id seen before, refused then: queueing it again', { id: existing.id, code: existing.outcome?.code });
    }
    const pkg = models.package(request.model);
    const spec = validateGenerateRequest(request, pkg, () => randomUUID());
    const job = new Job(spec, identity);
    // Fair share is per person on a platform and server, the same identity a request_id belongs to.
    const owner = identity.requester;
    scheduler.enqueue({
      id: job.id,
      owner,
      run: () => execute(job),
      onPosition: (position, queueLength, etaSeconds) => job.emit({ queued: { position, queueLength, etaSeconds } }),
      // The queue was full and this job's place went to someone with nothing waiting: its streams end RESOURCE_EXHAUSTED.
      onEvicted: (error) => {
        log.info('job evicted from a full queue', { id: job.id, owner, retryAfterMs: error.retryAfterMs });
        job.finish(error);
      },
    });
    jobs.add(job);
    log.info('job queued', { id: job.id, owner, queued: scheduler.queuedCount });
    return job;
  }

  function cancelJob(job: Job, error: DaemonError): void {
    if (job.finished) return;
    if (scheduler.remove(job.id)) job.finish(error);
    else job.abort.abort(error);
  }

  return {
    Generate(call) {
      let job: Job;
      let release: () => void;
      const peer = call.getPeer();
      try {
        checkAuth(deps.token, call.metadata);
        // Refuse before admitting, so a refused stream never queues a job nobody follows.
        caps.checkConnection(peer);
        job = admit(call.request);
        release = caps.acquire(peer, job);
      } catch (err) {
        call.emit('error', toServiceError(asDaemonError(err)));
        return;
      }
      let open = true;
      let deadlineTimer: NodeJS.Timeout | undefined;
      const stream = streamJobEvents(call, job, {
        onEnd: (error) => {
          if (!open) return;
          open = false;
          clearTimeout(deadlineTimer);
          release();
          if (error) call.emit('error', toServiceError(error));
          else call.end();
        },
      });
      // The caller went away: if nobody else follows this job, stop it and free the slot.
      const callerGone = () => {
        if (!open) return;
        open = false;
        clearTimeout(deadlineTimer);
        stream.stop();
        release();
        if (job.listenerCount === 0) cancelJob(job, new RequestCancelledError('the client closed the stream'));
      };
      call.on('cancelled', callerGone);
      // A caller that cancelled before this handler ran gets no 'cancelled' event.
      if (call.cancelled) callerGone();
      const deadline = call.getDeadline();
      const ms = deadline instanceof Date ? deadline.getTime() - Date.now() : typeof deadline === 'number' && Number.isFinite(deadline) ? deadline - Date.now() : Infinity;
      if (open && Number.isFinite(ms)) {
        deadlineTimer = setTimeout(() => {
          if (!open) return;
          // This caller's deadline: its stream ends DEADLINE_EXCEEDED; the job stops only if nobody else follows it
          // (a retry of the same request_id with a shorter deadline must not end it for the first caller).
          open = false;
          stream.stop();
          release();
          const error = new DeadlineExceededError('the deadline passed before the clip was finished');
          call.emit('error', toServiceError(error));
          if (job.listenerCount === 0) cancelJob(job, error);
        }, Math.max(0, ms));
      }
    },

    Cancel(call, callback) {
      try {
        checkAuth(deps.token, call.metadata);
        const job = jobs.get(call.request.requestId);
        if (!job) return callback(null, { cancelled: false, state: 'unknown' });
        // A job id is no secret (it rides on the chat's buttons): a caller naming a requester must be the job's, so
        // nobody can stop another person's job and put their own words into its CANCELLED status.
        if (call.request.requester && requesterKey(call.request) !== job.identity.requester) throw new RequestIdTakenError(job.id);
        const state = job.finished ? 'finished' : job.state;
        if (!job.finished) cancelJob(job, new RequestCancelledError(call.request.reason ? excerpt(call.request.reason) : 'cancelled on request'));
        log.info('cancel', { id: job.id, state });
        callback(null, { cancelled: state !== 'finished', state });
      } catch (err) {
        callback(toServiceError(asDaemonError(err)));
      }
    },

    ListModels(call, callback) {
      try {
        checkAuth(deps.token, call.metadata);
        const list: ModelInfo[] = models.packages().map((pkg) => {
          return {
            name: pkg.name,
            hash: pkg.hash,
            description: pkg.config.description,
            defaults: wireModelDefaults(pkg),
            limits: wireModelLimits(pkg),
            vocabulary: pkg.tokenizer.vocabulary,
            examplePrompts: pkg.config.example_prompts,
            schedulers: [...SCHEDULER_NAMES],
          };
        });
        callback(null, { models: list, defaultModel: models.defaultModel });
      } catch (err) {
        callback(toServiceError(asDaemonError(err)));
      }
    },
  };
}
