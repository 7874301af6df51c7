// One daemon's part in a cluster, put together: the link to Redis, then a gateway (ClusterGateway: the dispatcher
// the gRPC service uses), a worker (ClusterWorker), or both, as --role says. inference/server/daemon.ts starts it
// when --queue is given and knows nothing else of Redis.
import { Queue } from 'bullmq';
import type { ClusterRole } from '../../shared/config/variables.ts';
import type { DaemonLogger } from '../log.ts';
import type { JobTable } from '../server/job-table.ts';
import type { RunJobDeps } from '../server/run-job.ts';
import { RedisBlobStore } from './blob-store.ts';
import { EventRelay } from './event-relay.ts';
import { ClusterGateway, readClusterCounts, type ClusterCounts } from './gateway.ts';
import { clusterKeys, QUEUE_NAME } from './keys.ts';
import { maskQueueUrl, QueueLink } from './redis.ts';
import { ClusterWorker } from './worker.ts';

export interface ClusterNodeOptions {
  url: string;
  role: ClusterRole;
  leaseSeconds: number;
  /** Worker: jobs run at once. */
  concurrency: number;
  /** Gateway: the cluster's queue caps. */
  maxQueued: number;
  maxQueuedPerOwner: number;
}

export interface ClusterNodeDeps extends RunJobDeps {
  /** The gateway's job table (mirrors of the cluster's jobs followed here). */
  jobs: JobTable;
  log: DaemonLogger;
  /** A gateway's serving state changed (grpc.health.v1 follows it). */
  onServing(serving: boolean): void;
}

export interface ClusterNode {
  gateway: ClusterGateway | undefined;
  worker: ClusterWorker | undefined;
  /** The cluster's line and workers, as this node sees them (metrics). */
  counts(): Promise<ClusterCounts>;
  /** Worker: finish running jobs until `graceOver` resolves, then give the rest back to the queue. */
  closeWorker(graceOver: Promise<unknown>): Promise<void>;
  /** After the drain (the gateway's streams have ended): the relay and every connection close. */
  close(): Promise<void>;
}

/** Starts the role's parts; the caller has checked that Redis answers (checkQueueReachable), before loading models. */
export async function startClusterNode(options: ClusterNodeOptions, deps: ClusterNodeDeps): Promise<ClusterNode> {
  const { log } = deps;
  let gateway: ClusterGateway | undefined;
  // A gateway decides its own serving state (it re-checks the epoch first); a worker's follows the link directly, for
  // /healthz.
  const link = new QueueLink(options.url, {
    onUp: () => {
      if (gateway) gateway.linkUp();
      else deps.onServing(true);
    },
    onDown: (why) => {
      if (gateway) return gateway.linkDown(why);
      log.warn('lost the job queue (Redis); reconnecting', { why });
      deps.onServing(false);
    },
  });
  const keys = clusterKeys();
  const blobs = new RedisBlobStore(link.command);
  // Every role holds a queue client: gateways add to it; every daemon's metrics read its line.
  const queue = new Queue(QUEUE_NAME, { connection: link.command });
  queue.on('error', (err) => log.debug('queue client error', { error: err.message }));
  let worker: ClusterWorker | undefined;
  try {
    await link.ready();
    if (options.role !== 'worker') {
      const relay = new EventRelay(link.dedicated('animate-relay'), keys, blobs, log);
      gateway = new ClusterGateway({ link, queue, keys, models: deps.models, jobs: deps.jobs, relay, blobs, log, onServing: deps.onServing }, { maxQueued: options.maxQueued, maxQueuedPerOwner: options.maxQueuedPerOwner });
      await gateway.start();
    }
    if (options.role !== 'gateway') {
      worker = new ClusterWorker({ ...deps, link, keys, blobs }, { concurrency: options.concurrency, leaseSeconds: options.leaseSeconds });
      await worker.start();
    }
  } catch (err) {
    await worker?.close(Promise.resolve());
    await gateway?.close();
    await queue.close().catch(() => {});
    await link.close();
    throw err;
  }
  log.info('joined the cluster', { queue: maskQueueUrl(options.url), role: options.role, ...(worker ? { worker: worker.id } : {}) });
  return {
    gateway,
    worker,
    // Gateways and workers report the same cluster-wide figures (a worker's own busy count is in its heartbeat).
    counts: () => readClusterCounts(link.command, keys, queue.keys),
    async closeWorker(graceOver) {
      await worker?.close(graceOver);
    },
    async close() {
      await worker?.close(Promise.resolve());
      await gateway?.close();
      await queue.close().catch(() => {});
      await link.close();
    },
  };
}
