// What the gRPC boundary asks of whatever runs jobs: admit a request (a new job, or the one its request_id already
// names), cancel one, cancel by id. The single-process daemon answers with its fair scheduler (local-dispatcher.ts);
// a cluster gateway with the shared queue on Redis (../cluster/gateway.ts). The Generate stream, its backpressure and
// the caps are the same for both (animator-service.ts).
import type { GenerateRequest__Output } from '../../shared/rpc/types.ts';
import { QueueFullError, QueueUnavailableError, RequestIdReusedError, RequestIdTakenError, ShuttingDownError, type DaemonError } from '../errors.ts';
import type { DaemonLogger } from '../log.ts';
import type { Job, JobIdentity } from './job.ts';
import type { JobTable } from './job-table.ts';

export type CancelState = 'queued' | 'running' | 'finished' | 'unknown';

export interface JobDispatcher {
  /** The job a Generate call follows: the one its request_id names already, or a new one queued. Throws DaemonErrors. */
  admit(request: GenerateRequest__Output, identity: JobIdentity): Promise<Job>;
  /** Stops a job: out of the line if it waits, aborted where it runs. Its streams end with `error`. */
  cancel(job: Job, error: DaemonError): void;
  /**
   * A Cancel call: the state the job was in ('unknown' when no such job). `requester` (a requester key, or undefined
   * when the call names none) must be the job's: otherwise RequestIdTakenError.
   */
  cancelById(requestId: string, requester: string | undefined, error: DaemonError): Promise<CancelState>;
}

/**
 * Refusals that ask the person to send the request again: a retry with the same request_id runs it (or, on a cluster
 * gateway, follows the cluster's job again) instead of replaying the refusal.
 */
export function isSendAgainRefusal(outcome: DaemonError | undefined): boolean {
  return outcome instanceof QueueFullError || outcome instanceof ShuttingDownError || outcome instanceof QueueUnavailableError;
}

/** Checks a known request id's owner and parameters against a new call; throws when the call may not have the job. */
export function checkIdentity(requestId: string, known: JobIdentity, identity: JobIdentity): void {
  if (known.requester !== identity.requester) throw new RequestIdTakenError(requestId);
  if (known.fingerprint !== identity.fingerprint) throw new RequestIdReusedError(requestId);
}

/**
 * The job of this daemon's table that a call with this request_id should follow, if any. A job refused before it
 * ran (the queue was full, or the daemon was stopping) told its person to send it again: the retry queues anew
 * instead of replaying the refusal, so it is not returned.
 */
export function knownJob(jobs: JobTable, request: GenerateRequest__Output, identity: JobIdentity, log: DaemonLogger): Job | undefined {
  const existing = request.requestId ? jobs.get(request.requestId) : undefined;
  if (!existing) return undefined;
  checkIdentity(existing.id, existing.identity, identity);
  if (existing.finished && isSendAgainRefusal(existing.outcome)) {
    log.info('request id seen before, refused then: queueing it again', { jobId: existing.id, code: existing.outcome?.code });
    return undefined;
  }
  log.info('request id seen before: streaming the existing job', { jobId: existing.id, state: existing.state });
  return existing;
}
