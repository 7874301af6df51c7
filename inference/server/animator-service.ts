// The Animator gRPC service: admission (auth, validation, idempotency, queue), streaming of job events, Cancel and
// ListModels. Every failure reaches the caller as a gRPC status with a message a person understands, and a short one:
// user text is quoted as an excerpt and every status is capped in size (excerpt.ts), so no status can wedge the
// connection that carries it. A request_id belongs to its requester (request-identity.ts).
import * as grpc from '@grpc/grpc-js';
import type { AnimatorHandlers, GenerateRequest__Output, ModelInfo } from '../../shared/rpc/types.ts';
import { RequestCancelledError, DaemonError, DeadlineExceededError, PromptRefusedError, QueueFullError, ShuttingDownError, asDaemonError } from '../errors.ts';
import type { DaemonLogger } from '../log.ts';
import { redactServerDetail } from '../../shared/redact.ts';
import { DAEMON_ERROR_STATUS, ERROR_CODE_TRAILER, RETRY_AFTER_TRAILER } from '../../shared/wire/error-codes.ts';
import type { ModelRegistry } from '../model/registry.ts';
import { acceptsImage } from '../model/package.ts';
import type { TextToVideo } from '../pipeline/text-to-video.ts';
import { SCHEDULER_NAMES } from '../schedulers/index.ts';
import { streamJobEvents } from './event-stream.ts';
import { capBytes, capStatusMessage, excerpt, METADATA_VALUE_BYTES } from '../excerpt.ts';
import type { JobDispatcher } from './dispatcher.ts';
import type { Job } from './job.ts';
import { requesterKey, requestFingerprint } from './request-identity.ts';
import { StreamCaps } from './stream-caps.ts';
import { checkRequestId, wireModelDefaults, wireModelLimits } from './validate.ts';
import { checkAuth } from './auth.ts';
import type { PromptPolicy } from '../policy/prompt-policy.ts';
import { recordRefusal, type RefusalAccounting } from '../policy/refusal-log.ts';

/**
 * A stream that closes this close to its deadline closed because of it: the client's deadline timer fires a few ms
 * before this side's (the grpc-timeout header is sent a little after the client set it), and its RST looks like a
 * plain cancel. A real cancel this late is reported as the deadline, which is what the caller asked for anyway.
 */
const DEADLINE_CLOSE_SLACK_MS = 500;

export interface ServiceDeps {
  /** The packages ListModels describes. */
  models: ModelRegistry<TextToVideo>;
  /** Who admits, runs and cancels jobs: this process (local-dispatcher.ts) or a cluster (../cluster/gateway.ts). */
  dispatcher: JobDispatcher;
  log: DaemonLogger;
  token?: string | undefined;
  isShuttingDown: () => boolean;
  /** Generate streams following one job at most. Default DEFAULT_MAX_STREAMS_PER_JOB (8). */
  maxStreamsPerJob?: number;
  /** Generate streams on one client connection at most. Default DEFAULT_MAX_STREAMS_PER_CONNECTION (256). */
  maxStreamsPerConnection?: number;
  /** The prompt policy every Generate passes before admission (inference/policy/). Default: none (embedders, tests). */
  policy?: PromptPolicy | undefined;
  /** How a refusal is counted and whether its log line carries the prompt (inference/policy/refusal-log.ts). */
  refusals?: Omit<RefusalAccounting, 'log'> | undefined;
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

export function createAnimatorHandlers(deps: ServiceDeps): AnimatorHandlers {
  const caps = new StreamCaps({ perJob: deps.maxStreamsPerJob, perConnection: deps.maxStreamsPerConnection });

  const { models, dispatcher, log } = deps;

  async function admit(request: GenerateRequest__Output): Promise<Job> {
    if (deps.isShuttingDown()) throw new ShuttingDownError('the daemon is shutting down and takes no new requests; try again shortly');
    // The policy binds every client (bots, the CLI, plugins): checked here, before any job exists, in one process or a cluster.
    try {
      deps.policy?.check(request);
    } catch (err) {
      if (err instanceof PromptRefusedError) recordRefusal({ log, ...deps.refusals }, request, err);
      throw err;
    }
    return dispatcher.admit(request, { requester: requesterKey(request), fingerprint: requestFingerprint(request) });
  }

  return {
    async Generate(call) {
      let job: Job;
      let release: () => void;
      const peer = call.getPeer();
      try {
        checkAuth(deps.token, call.metadata);
        // Refuse before admitting, so a refused stream never queues a job nobody follows.
        caps.checkConnection(peer);
        job = await admit(call.request);
      } catch (err) {
        call.emit('error', toServiceError(asDaemonError(err)));
        return;
      }
      try {
        release = caps.acquire(peer, job);
      } catch (err) {
        // Other calls on this connection took the last slots while this one was admitted: a job nobody follows must
        // not run for nobody.
        if (job.listenerCount === 0) dispatcher.cancel(job, new RequestCancelledError('the stream was refused: too many streams on this connection'));
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
      const deadline = call.getDeadline();
      const deadlineAt = deadline instanceof Date ? deadline.getTime() : typeof deadline === 'number' && Number.isFinite(deadline) ? deadline : Infinity;
      const ms = deadlineAt - Date.now();
      // The caller went away: if nobody else follows this job, stop it and free the slot. A stream that closes at its
      // deadline is the deadline, whichever timer fired first (the client's own, grpc-js's on this side, or ours).
      const callerGone = () => {
        if (!open) return;
        open = false;
        clearTimeout(deadlineTimer);
        stream.stop();
        release();
        const atDeadline = Date.now() >= deadlineAt - DEADLINE_CLOSE_SLACK_MS;
        const reason = atDeadline
          ? new DeadlineExceededError('the deadline passed before the clip was finished')
          : new RequestCancelledError('the client closed the stream');
        if (job.listenerCount === 0) dispatcher.cancel(job, reason);
      };
      call.on('cancelled', callerGone);
      // A caller that cancelled before this handler ran gets no 'cancelled' event.
      if (call.cancelled) callerGone();
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
          if (job.listenerCount === 0) dispatcher.cancel(job, error);
        }, Math.max(0, ms));
      }
    },

    async Cancel(call, callback) {
      try {
        checkAuth(deps.token, call.metadata);
        const id = checkRequestId(call.request.requestId);
        // A job id is no secret (it rides on the chat's buttons): a caller naming a requester must be the job's, so
        // nobody can stop another person's job and put their own words into its CANCELLED status.
        const requester = call.request.requester ? requesterKey(call.request) : undefined;
        const state = await dispatcher.cancelById(id, requester, new RequestCancelledError(call.request.reason ? excerpt(call.request.reason) : 'cancelled on request'));
        log.info('cancel', { jobId: excerpt(id), state });
        callback(null, { cancelled: state === 'queued' || state === 'running', state });
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
            styles: pkg.styles.map((s) => ({ name: s.name, description: s.description, examplePrompt: s.examplePrompt })),
            acceptsImage: acceptsImage(pkg),
          };
        });
        callback(null, { models: list, defaultModel: models.defaultModel });
      } catch (err) {
        callback(toServiceError(asDaemonError(err)));
      }
    },
  };
}
