// A cluster gateway's dispatcher (inference/server/dispatcher.ts): requests are admitted against the whole cluster
// (ownership, idempotency, the queue caps and the fair round, in one Redis step: scripts.ts), put on BullMQ's queue,
// and followed through their event stream (event-relay.ts). Places in line are the job's rank in BullMQ's
// prioritized set, told once a second when they change. When Redis goes away, new calls are refused at once and calls
// in flight end after QUEUE_LOSS_GRACE_MS; when it comes back without the jobs (a restart), they end at once.
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { GenerateRequest__Output } from '../../shared/rpc/types.ts';
import { DaemonErrorCode, errorFromCode, QueueFullError, QueueUnavailableError, RequestCancelledError, RequestIdTakenError, type DaemonError } from '../errors.ts';
import type { DaemonLogger } from '../log.ts';
import type { ModelRegistry } from '../model/registry.ts';
import type { TextToVideo } from '../pipeline/text-to-video.ts';
import { checkIdentity, knownJob, type CancelState, type JobDispatcher } from '../server/dispatcher.ts';
import { Job, type JobIdentity } from '../server/job.ts';
import type { JobTable } from '../server/job-table.ts';
import { validateGenerateRequest } from '../server/validate.ts';
import type { BlobStore } from './blob-store.ts';
import type { EventRelay } from './event-relay.ts';
import type { QueuedJobData } from './worker.ts';
import { bullJobId, EVENT_LIMITS, eventKeys, JOB_TTL_S, type ClusterKeys } from './keys.ts';
import type { QueueLink } from './redis.ts';
import { admitScript, FINAL_STATES, markCancelScript, publishScript, unadmitScript } from './scripts.ts';
import { readCensus, readJobSeconds, type Census } from './worker-census.ts';

/** Calls in flight end this long after Redis became unreachable, unless it is back (ms). */
export const QUEUE_LOSS_GRACE_MS = 5000;
/** How often places in line are recomputed and the followed jobs checked (ms). */
export const LINE_TICK_MS = 1000;
/**
 * A followed job whose record says it ended, but whose end has not come through the relay this long after, is ended
 * from the record (a wedged relay connection must not hold a stream open for ever) (ms).
 */
export const RELAY_LAG_LIMIT_MS = 10_000;

export interface ClusterGatewayOptions {
  /** Jobs waiting in the cluster at most. */
  maxQueued: number;
  /** Jobs one person may have waiting in the cluster. */
  maxQueuedPerOwner: number;
  /** Injected random source for the retry jitter. Default Math.random. */
  random?: () => number;
}

export interface ClusterGatewayDeps {
  link: QueueLink;
  queue: Queue;
  keys: ClusterKeys;
  models: ModelRegistry<TextToVideo>;
  /** This gateway's jobs (mirrors of the cluster's, holding their streams' history). */
  jobs: JobTable;
  relay: EventRelay;
  /** Where an input image waits for its worker. */
  blobs: BlobStore;
  log: DaemonLogger;
  /** Told when this gateway can serve (Redis reachable) and when not: grpc.health.v1 follows it. */
  onServing(serving: boolean): void;
}

/** What a gateway knows of the cluster's line, for metrics. */
export interface ClusterCounts extends Census {
  waiting: number;
}

/** Jobs in BullMQ's line: the prioritized set (every job a gateway adds has a priority) and the plain wait list. */
async function readWaitingCount(redis: Redis, queueKeys: Queue['keys']): Promise<number> {
  const [z, l] = await Promise.all([redis.zcard(queueKeys.prioritized!), redis.llen(queueKeys.wait!)]);
  return z + l;
}

/** Jobs waiting, workers, slots and busy slots, cluster-wide (metrics). */
export async function readClusterCounts(redis: Redis, keys: ClusterKeys, queueKeys: Queue['keys']): Promise<ClusterCounts> {
  const [census, waiting] = await Promise.all([readCensus(redis, keys), readWaitingCount(redis, queueKeys)]);
  return { ...census, waiting };
}

const unreachable = () => new QueueUnavailableError('the job queue (Redis) is unreachable from this gateway; try again shortly');

export class ClusterGateway implements JobDispatcher {
  private readonly random: () => number;
  private epoch: string | undefined;
  private lossTimer: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private ticking = false;
  /** Positions last told, by job id, so a job hears of its place only when it changes. */
  private readonly told = new Map<string, number>();
  /** Jobs whose BullMQ job was found failed or missing once: a second look ends them (a stall beyond recovery). */
  private readonly suspect = new Set<string>();
  /** Jobs whose record was first seen final at this time (ms) while their end had not been relayed. */
  private readonly endedInRecord = new Map<string, number>();
  private closed = false;
  /** Whether this gateway told health it serves; while not, each tick retries the check that restores it. */
  private serving = true;

  constructor(private readonly deps: ClusterGatewayDeps, private readonly options: ClusterGatewayOptions) {
    this.random = options.random ?? Math.random;
  }

  /** Reads (or sets) the cluster's epoch, starts relaying and the line ticker. */
  async start(): Promise<void> {
    await this.checkEpoch();
    this.deps.relay.start();
    this.ticker = setInterval(() => void this.tick(), LINE_TICK_MS);
    this.ticker.unref();
  }

  async close(): Promise<void> {
    // From here on the link's going down is this gateway's own doing, not an outage to report.
    this.closed = true;
    clearInterval(this.ticker);
    clearTimeout(this.lossTimer);
    await this.deps.relay.stop();
  }

  /** The link to Redis dropped: not serving; calls in flight end unless it is back within the grace. */
  linkDown(why: string): void {
    if (this.closed) return;
    this.deps.log.warn('lost the job queue (Redis): not serving', { why });
    this.setServing(false);
    clearTimeout(this.lossTimer);
    this.lossTimer = setTimeout(() => {
      this.endAll(new QueueUnavailableError(`the job queue (Redis) was unreachable for ${QUEUE_LOSS_GRACE_MS / 1000} s; please send the request again`));
    }, QUEUE_LOSS_GRACE_MS);
    this.lossTimer.unref();
  }

  /** The link is back: serving again; jobs a restarted Redis forgot end at once. */
  linkUp(): void {
    if (this.closed) return;
    clearTimeout(this.lossTimer);
    void this.restoreServing();
  }

  /** Serving again once the epoch is read (and what a restarted Redis lost is ended); retried by the tick if it fails. */
  private async restoreServing(): Promise<void> {
    try {
      await this.checkEpoch();
      this.deps.log.info('job queue (Redis) reachable: serving');
      this.setServing(true);
    } catch (err) {
      this.deps.log.warn('job queue back, but its epoch could not be read; retrying', { error: (err as Error).message });
    }
  }

  private setServing(serving: boolean): void {
    this.serving = serving;
    this.deps.onServing(serving);
  }

  async admit(request: GenerateRequest__Output, identity: JobIdentity): Promise<Job> {
    const { link, jobs, keys, log } = this.deps;
    if (!link.isUp || !this.serving) throw unreachable();
    const local = knownJob(jobs, request, identity, log);
    if (local) return local;
    const spec = validateGenerateRequest(request, this.deps.models.package(request.model), () => randomUUID());
    const owner = identity.requester;
    const queueKeys = this.deps.queue.keys;
    const result = await admitScript(
      link.command,
      { record: keys.job(spec.requestId), events: keys.events(spec.requestId), rounds: keys.rounds, round: keys.round, waiting: keys.waiting, prioritized: queueKeys.prioritized!, wait: queueKeys.wait!, waitingTotal: keys.waitingTotal, lastAdmit: keys.lastAdmit },
      { requester: identity.requester, fingerprint: identity.fingerprint, owner, maxQueued: this.options.maxQueued, maxQueuedPerOwner: this.options.maxQueuedPerOwner, jobTtlSeconds: JOB_TTL_S },
    ).catch((err: Error) => {
      throw new QueueUnavailableError(`the job queue (Redis) did not answer: ${err.message}; try again shortly`);
    });
    if (result.kind === 'full') throw await this.queueFull(result.waiting, result.ownerWaiting);
    const job = new Job(spec, identity);
    if (result.kind === 'exists') {
      // Known to the cluster (a resend after a gateway died, or a second viewer on another gateway).
      checkIdentity(spec.requestId, { requester: result.requester, fingerprint: result.fingerprint }, identity);
      log.info('request id known to the cluster: following its job', { jobId: job.id, state: result.state });
    } else {
      try {
        // BullMQ forgets a job once it ends (the record and the stream hold its outcome): a request id sent again after
        // the record expired is a new BullMQ job, not a silent duplicate of a finished one.
        const { inputImage, ...queuedSpec } = spec;
        const data: QueuedJobData = { spec: queuedSpec, identity };
        if (inputImage) {
          data.image = { blobKey: keys.image(spec.requestId), mimeType: inputImage.mimeType, header: inputImage.header };
          await this.deps.blobs.put(data.image.blobKey, inputImage.data, JOB_TTL_S);
        }
        await this.deps.queue.add('generate', data, { jobId: bullJobId(spec.requestId), priority: result.round + 1, attempts: 1, removeOnComplete: true, removeOnFail: true });
      } catch (err) {
        // The admission is undone (record gone, the person's place back), so nothing drifts.
        await unadmitScript(link.command, { record: keys.job(spec.requestId), waiting: keys.waiting, waitingTotal: keys.waitingTotal }).catch(() => {});
        throw new QueueUnavailableError(`the job could not be put on the queue: ${(err as Error).message}; try again shortly`);
      }
      log.info('job queued', { jobId: job.id, owner, round: result.round });
    }
    jobs.add(job);
    job.onFinished(() => {
      this.told.delete(job.id);
      this.suspect.delete(job.id);
      this.endedInRecord.delete(job.id);
    });
    this.deps.relay.follow(job);
    return job;
  }

  cancel(job: Job, error: DaemonError): void {
    if (job.finished) return;
    // Nobody here follows it any more (the caller went away, or its deadline passed): stop it where it is.
    this.cancelById(job.id, undefined, error).catch(() => job.finish(error));
  }

  async cancelById(requestId: string, requester: string | undefined, error: DaemonError): Promise<CancelState> {
    const { link, keys, queue } = this.deps;
    if (!link.isUp) throw unreachable();
    const marked = await markCancelScript(link.command, keys.job(requestId), { reason: error.message, code: error.code }, requester ?? '');
    if (marked === 'taken') throw new RequestIdTakenError(requestId);
    if (marked === 'unknown' || marked === 'finished') return marked;
    await link.command.publish(keys.cancelChannel, requestId);
    // Still in line: take it out and end it here. Running: its worker heard the channel (or sees the mark when it starts).
    const removed = await queue.remove(bullJobId(requestId)).catch(() => 0);
    if (removed) {
      // As the job would end in one process: CANCELLED is a cancel, a passed deadline a failure (DEADLINE_EXCEEDED).
      await this.end(requestId, error.code, error.message, error instanceof RequestCancelledError ? 'cancelled' : 'failed');
      await this.deps.blobs.delete(keys.image(requestId)).catch(() => {});
    }
    return marked;
  }

  private waitingCount(): Promise<number> {
    return readWaitingCount(this.deps.link.command, this.deps.queue.keys);
  }

  /** Writes a job's end entry from this gateway, for a job no worker will end (taken out of line, or stalled for good). */
  private async end(requestId: string, code: string, message: string, state: 'cancelled' | 'failed'): Promise<void> {
    const { link, keys } = this.deps;
    await publishScript(link.command, eventKeys(keys, requestId), '*', { kind: 'x', payload: JSON.stringify({ code, message }), end: { state, code, message } }, EVENT_LIMITS);
  }

  private async queueFull(waiting: number, ownerWaiting: number): Promise<QueueFullError> {
    const { link, keys } = this.deps;
    const [census, jobSeconds] = await Promise.all([readCensus(link.command, keys), readJobSeconds(link.command, keys)]).catch(() => [{ slots: 1 }, 3] as const);
    const drainMs = (Math.max(1, Math.min(waiting, ownerWaiting || waiting)) * jobSeconds * 1000) / Math.max(1, census.slots);
    const retryAfterMs = Math.max(500, Math.round(drainMs * (0.8 + 0.4 * this.random())));
    const why = ownerWaiting >= this.options.maxQueuedPerOwner ? `you have ${ownerWaiting} requests waiting already (at most ${this.options.maxQueuedPerOwner})` : `the queue is full (${waiting} waiting)`;
    return new QueueFullError(why, retryAfterMs);
  }

  private endAll(error: DaemonError): void {
    const active = this.deps.jobs.active();
    if (active.length) this.deps.log.warn('ending calls in flight: the job queue is unreachable', { count: active.length });
    for (const job of active) job.finish(error);
  }

  private async checkEpoch(): Promise<void> {
    const { command } = this.deps.link;
    await command.set(this.deps.keys.epoch, randomUUID(), 'NX');
    const now = (await command.get(this.deps.keys.epoch)) ?? undefined;
    if (this.epoch && now !== this.epoch) {
      this.deps.log.warn('the job queue (Redis) restarted and lost its jobs');
      this.endAll(new QueueUnavailableError('the job queue (Redis) restarted and lost this job; please send the request again'));
    }
    this.epoch = now;
  }

  /** Once a second: places in line for waiting jobs; followed jobs the cluster forgot, or that stalled for good, end. */
  private async tick(): Promise<void> {
    const { link, keys, queue, jobs } = this.deps;
    if (this.ticking || !link.isUp) return;
    if (!this.serving && !this.closed) return void this.restoreServing();
    const active = jobs.active();
    if (!active.length) return;
    this.ticking = true;
    try {
      const pipeline = link.command.pipeline();
      for (const job of active) pipeline.hmget(keys.job(job.id), 'state', 'code', 'message');
      for (const job of active) pipeline.zrank(queue.keys.prioritized!, bullJobId(job.id));
      const rows = (await pipeline.exec()) ?? [];
      const records = rows.slice(0, active.length).map(([, v]) => v as [string | null, string | null, string | null]);
      const ranks = rows.slice(active.length).map(([, v]) => v as number | null);
      const queuedJobs = active.filter((job, i) => job.state === 'queued' && ranks[i] !== null);
      let context: { length: number; jobSeconds: number; slots: number } | undefined;
      if (queuedJobs.length) {
        const [length, jobSeconds, census] = await Promise.all([this.waitingCount(), readJobSeconds(link.command, keys), readCensus(link.command, keys)]);
        context = { length, jobSeconds, slots: Math.max(1, census.slots) };
      }
      for (const [i, job] of active.entries()) {
        if (job.finished) continue;
        const [state, code, message] = records[i] ?? [null, null, null];
        if (state === null) {
          job.finish(new QueueUnavailableError('the job queue lost this job (its Redis restarted without it); please send the request again'));
          continue;
        }
        if ((FINAL_STATES as readonly string[]).includes(state)) {
          this.endFromRecordIfStuck(job, state, code, message);
          continue;
        }
        const rank = ranks[i];
        if (context && job.state === 'queued' && rank !== null && rank !== undefined) {
          const position = rank + 1;
          if (this.told.get(job.id) !== position) {
            this.told.set(job.id, position);
            job.emit({ queued: { position, queueLength: Math.max(position, context.length), etaSeconds: (position * context.jobSeconds) / context.slots } });
          }
        }
        if (state === 'running' || (state === 'queued' && rank === null)) await this.checkStalled(job);
      }
    } catch (err) {
      this.deps.log.debug('line tick failed', { error: (err as Error).message });
    } finally {
      this.ticking = false;
    }
  }

  /** The record says the job ended; if its end has not come through the relay for RELAY_LAG_LIMIT_MS, end it from the record. */
  private endFromRecordIfStuck(job: Job, state: string, code: string | null, message: string | null): void {
    const since = this.endedInRecord.get(job.id);
    const now = performance.now();
    if (since === undefined) return void this.endedInRecord.set(job.id, now);
    if (now - since < RELAY_LAG_LIMIT_MS) return;
    this.deps.log.error('a job ended in the queue but its end never came through the relay: ending it from its record', { jobId: job.id, state });
    // A done job's clip did not come through: asking for it again (same request_id) streams it from the queue.
    if (state === 'done') job.finish(new QueueUnavailableError('the clip was made but could not be relayed; send the request again to receive it'));
    else job.finish(errorFromCode(code || DaemonErrorCode.InferenceFailed, message || 'the job failed'));
  }

  /** A job BullMQ failed (stalled more often than allowed) or lost, while its record says it is not over. */
  private async checkStalled(job: Job): Promise<void> {
    const state = await this.deps.queue.getJobState(bullJobId(job.id));
    // 'completed' while the record is not final: the job ended in BullMQ without its end written (a worker died between).
    if (state !== 'failed' && state !== 'unknown' && state !== 'completed') {
      this.suspect.delete(job.id);
      return;
    }
    if (!this.suspect.has(job.id)) {
      this.suspect.add(job.id);
      return;
    }
    this.deps.log.error('job failed in the queue with no end written (its workers died)', { jobId: job.id, state });
    await this.end(job.id, DaemonErrorCode.WorkerCrashed, 'the workers running this job stopped before it was finished; please send it again', 'failed');
  }
}
