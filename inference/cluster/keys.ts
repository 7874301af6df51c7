// The Redis keys of a cluster, written once (docs/cluster.md has the table). Every key of ours starts with the
// prefix; BullMQ's own keys are `bull:<QUEUE_NAME>:*`. Job ids are request ids: client text, so they are bounded by the
// request validation before they ever reach a key.

/** BullMQ's queue of generation jobs. */
export const QUEUE_NAME = 'animate-jobs';
export const DEFAULT_KEY_PREFIX = 'animate';

/** A finished job's record, events and clip are kept this long for resends (s). */
export const RESULT_TTL_S = 15 * 60;
/** An unfinished job's record and events expire after this long (s): a bound on what a lost job leaves behind. */
export const JOB_TTL_S = 6 * 60 * 60;
/** Entries kept per job event stream (approximate trim): progress and previews of a long job stay bounded. */
export const EVENT_STREAM_MAXLEN = 2048;

/** BullMQ's id for a request's job: request ids may look like integers or hold ':', which BullMQ refuses or splits on. */
export function bullJobId(requestId: string): string {
  return `r-${Buffer.from(requestId, 'utf8').toString('hex')}`;
}

/** Where the outcome of a job's events is recorded: what the fenced publish script and a gateway ending a job use. */
export function eventKeys(keys: ClusterKeys, requestId: string): { record: string; events: string; waiting: string; waitingTotal: string } {
  return { record: keys.job(requestId), events: keys.events(requestId), waiting: keys.waiting, waitingTotal: keys.waitingTotal };
}

/** The limits a job's stream is written with. */
export const EVENT_LIMITS = { maxlen: EVENT_STREAM_MAXLEN, jobTtl: JOB_TTL_S, resultTtl: RESULT_TTL_S } as const;

export interface ClusterKeys {
  job(id: string): string;
  events(id: string): string;
  /** A clip, per attempt: a worker taken over that wakes up cannot overwrite the clip its successor points at. */
  clip(id: string, attempt: number, format: string): string;
  /** An image-to-video request's input image, stored once beside the queue instead of inside BullMQ's job. */
  image(id: string): string;
  readonly rounds: string;
  /** owner → jobs of theirs waiting (the per-person cap, cluster-wide). */
  readonly waiting: string;
  /** Jobs admitted and not yet started, in all: admissions in flight count before BullMQ holds them. */
  readonly waitingTotal: string;
  /** When the last job was admitted (ms, Redis's clock). */
  readonly lastAdmit: string;
  readonly round: string;
  readonly workers: string;
  worker(id: string): string;
  readonly cancelChannel: string;
  readonly epoch: string;
  /** Mean job seconds, kept by the workers for cluster-wide ETAs. */
  readonly jobSeconds: string;
}

export function clusterKeys(prefix = DEFAULT_KEY_PREFIX): ClusterKeys {
  return {
    job: (id) => `${prefix}:job:${id}`,
    events: (id) => `${prefix}:events:${id}`,
    clip: (id, attempt, format) => `${prefix}:clip:${id}:${attempt}:${format}`,
    image: (id) => `${prefix}:image:${id}`,
    rounds: `${prefix}:rounds`,
    waiting: `${prefix}:waiting`,
    waitingTotal: `${prefix}:waiting-total`,
    lastAdmit: `${prefix}:last-admit`,
    round: `${prefix}:round`,
    workers: `${prefix}:workers`,
    worker: (id) => `${prefix}:worker:${id}`,
    cancelChannel: `${prefix}:cancel`,
    epoch: `${prefix}:epoch`,
    jobSeconds: `${prefix}:job-seconds`,
  };
}
