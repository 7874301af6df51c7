// A cluster worker: takes jobs from BullMQ's queue when it has a free slot (concurrency), runs each on this process's
// model (inference/server/run-job.ts) and publishes its events and clip (publisher.ts). Its hold on a job is BullMQ's
// lock, renewed while it runs: if this process dies, the lock expires after the lease and BullMQ's stalled-job check
// gives the job to another worker, which announces it as restarted. A Cancel from any gateway reaches it on the
// cancel channel. On shutdown it finishes its jobs for the grace period, then gives the rest back to the queue.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { WaitingError, Worker, type Job as BullJob } from 'bullmq';
import type { Redis } from 'ioredis';
import { DaemonErrorCode, errorFromCode, QueueUnavailableError, RequestCancelledError, ShuttingDownError } from '../errors.ts';
import type { DaemonLogger } from '../log.ts';
import { Job, type JobIdentity } from '../server/job.ts';
import { runJob, type RunJobDeps } from '../server/run-job.ts';
import type { InputImage, JobSpec } from '../server/validate.ts';
import type { BlobStore } from './blob-store.ts';
import { QUEUE_NAME, type ClusterKeys } from './keys.ts';
import { JobPublisher } from './publisher.ts';
import type { QueueLink } from './redis.ts';
import { claimScript } from './scripts.ts';
import { recordJobSeconds, WorkerHeartbeat } from './worker-census.ts';

/** What a gateway puts on the queue: JSON, so an input image travels through the blob store, by key. */
export interface QueuedJobData {
  spec: Omit<JobSpec, 'inputImage'>;
  identity: JobIdentity;
  image?: Omit<InputImage, 'data'> & { blobKey: string };
}

export interface ClusterWorkerOptions {
  /** Jobs run at once (their denoising steps are batched). */
  concurrency: number;
  /** BullMQ lock duration and stalled-check interval, s. */
  leaseSeconds: number;
  /** How many times a job may be taken up again after its worker died. Default 2. */
  maxRestarts?: number;
}

export interface ClusterWorkerDeps extends RunJobDeps {
  link: QueueLink;
  keys: ClusterKeys;
  blobs: BlobStore;
}

interface RunningJob {
  job: Job;
  publisher: JobPublisher;
}

export class ClusterWorker {
  readonly id = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly running = new Map<string, RunningJob>();
  private bull: Worker<QueuedJobData> | undefined;
  private publisherConnection: Redis | undefined;
  private subscriber: Redis | undefined;
  private readonly heartbeat: WorkerHeartbeat;
  private handingOver = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly deps: ClusterWorkerDeps, private readonly options: ClusterWorkerOptions) {
    this.heartbeat = new WorkerHeartbeat(deps.link.command, deps.keys, this.id, options.concurrency, () => this.running.size);
  }

  /** Jobs running here now. */
  get busy(): number {
    return this.running.size;
  }

  async start(): Promise<void> {
    const { link, keys, log } = this.deps;
    this.publisherConnection = link.dedicated('animate-publisher');
    this.subscriber = link.dedicated('animate-cancel');
    this.subscriber.on('message', (_channel: string, id: string) => void this.cancelRunning(id));
    await this.subscriber.subscribe(keys.cancelChannel);
    const leaseMs = this.options.leaseSeconds * 1000;
    this.bull = new Worker<QueuedJobData>(QUEUE_NAME, (job, token) => this.process(job, token), {
      connection: link.dedicated('animate-worker'),
      concurrency: this.options.concurrency,
      lockDuration: leaseMs,
      // A job is moved back after two checks find it without its lock: checking twice per lease takes a dead worker's
      // job up again within about two leases of its death.
      stalledInterval: Math.max(500, Math.round(leaseMs / 2)),
      maxStalledCount: this.options.maxRestarts ?? 2,
      // Long polls end sooner than BullMQ's 5 s, so a shutdown is not held by an idle poll.
      drainDelay: 1,
    });
    this.bull.on('error', (err) => log.warn('queue worker error', { error: err.message }));
    this.heartbeat.start();
    log.info('worker taking jobs', { worker: this.id, slots: this.options.concurrency, leaseSeconds: this.options.leaseSeconds });
  }

  /** Stops taking jobs, lets running ones finish until `graceOver` resolves, then gives the rest back to the queue. */
  async close(graceOver: Promise<unknown>): Promise<void> {
    this.closing ??= this.shutDown(graceOver);
    return this.closing;
  }

  private async shutDown(graceOver: Promise<unknown>): Promise<void> {
    await this.heartbeat.stop();
    if (!this.bull) return;
    const closing = this.bull.close();
    if ((await Promise.race([closing.then(() => 'closed' as const), graceOver.then(() => 'timeout' as const)])) === 'timeout') {
      this.handingOver = true;
      if (this.running.size) this.deps.log.info('giving running jobs back to the queue', { count: this.running.size });
      for (const { job, publisher } of this.running.values()) {
        publisher.handOver();
        job.abort.abort(new ShuttingDownError('this worker is shutting down; the job goes to another worker'));
      }
      await closing;
    }
    this.subscriber?.disconnect();
    this.publisherConnection?.disconnect();
  }

  private async process(bullJob: BullJob<QueuedJobData>, token: string | undefined): Promise<void> {
    const { keys, log } = this.deps;
    const { identity, image } = bullJob.data;
    const id = bullJob.data.spec.requestId;
    const redis = this.publisherConnection!;
    const claim = await claimScript(redis, { record: keys.job(id), round: keys.round, waiting: keys.waiting, waitingTotal: keys.waitingTotal }, this.id);
    if (claim.kind !== 'ok') {
      log.info('queued job not run: it has ended or the queue lost it', { id, state: claim.kind === 'final' ? claim.state : 'gone' });
      return;
    }
    const imageBytes = image ? await this.deps.blobs.get(image.blobKey) : undefined;
    const spec: JobSpec = { ...bullJob.data.spec, ...(image && imageBytes ? { inputImage: { data: imageBytes, mimeType: image.mimeType, header: image.header } } : {}) };
    // Its time in line counts from its admission (BullMQ's timestamp), not from this worker's start (Done.timings.queuedMs).
    const job = new Job(spec, identity, { createdAt: performance.now() - Math.max(0, Date.now() - bullJob.timestamp) });
    const publisher = new JobPublisher(redis, keys, this.deps.blobs, id, claim.attempt, log, (why) => {
      if (job.finished) return;
      if (why === 'gone') job.abort.abort(new QueueUnavailableError('the job queue lost this job (its Redis restarted)'));
      else if (why === 'cancel') void this.cancelRunning(id);
      else job.abort.abort(new RequestCancelledError(why === 'fenced' ? 'another worker took this job over' : 'the job has ended'));
    });
    const entry = { job, publisher };
    this.running.set(id, entry);
    job.subscribe({ event: (e) => publisher.event(e), end: (error) => publisher.end(error) });
    try {
      if (image && !imageBytes) job.finish(new QueueUnavailableError('the input image expired from the queue before the job could start; please send the request again'));
      // Cancelled while it waited, and this worker took it before the gateway could take it out of line.
      else if (claim.cancelReason) job.finish(errorFromCode(claim.cancelCode || DaemonErrorCode.Cancelled, claim.cancelReason));
      const started = performance.now();
      await runJob(job, this.deps, { announce: claim.attempt > 1 ? 'restarted' : 'started' });
      await publisher.flushed();
      // Ended for good, by this attempt or before it (not handed back at shutdown, and not taken over by a newer
      // attempt that still reads it): its input image is no longer needed.
      const ended = publisher.stoppedBecause === undefined || publisher.stoppedBecause === 'final';
      if (image && ended) await this.deps.blobs.delete(image.blobKey).catch(() => {});
      if (job.state === 'done') await recordJobSeconds(this.deps.link.command, keys, (performance.now() - started) / 1000).catch(() => {});
    } finally {
      this.running.delete(id);
    }
    if (this.handingOver && publisher.stoppedBecause === 'handed-over') {
      // Back in line with its priority; the next worker's attempt announces itself as restarted.
      await bullJob.moveToWait(token);
      throw new WaitingError();
    }
  }

  private async cancelRunning(id: string): Promise<void> {
    const entry = this.running.get(id);
    if (!entry || entry.job.finished) return;
    // The code says why: CANCELLED (a Cancel, a caller gone) or DEADLINE_EXCEEDED (a caller's deadline), as in one process.
    const [reason, code] = await this.deps.link.command.hmget(this.deps.keys.job(id), 'cancel', 'cancel_code').catch(() => [null, null]);
    entry.job.abort.abort(errorFromCode(code || DaemonErrorCode.Cancelled, reason || 'cancelled on request'));
  }
}
