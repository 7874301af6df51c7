// The inference daemon: gRPC server (Animator + health), model registry, fair queue, onnxruntime worker thread.
import * as grpc from '@grpc/grpc-js';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadProtos } from '../../shared/rpc/proto.ts';
import type { ExecutionProvider } from '../backend/onnx.ts';
import { CLUSTER_ROLES, EXECUTION_PROVIDERS, queueUrl, type ClusterRole } from '../../shared/config/variables.ts';
import { DEFAULT_DAEMON_ADDRESS, HOST_PORT_HINT, isHostPort } from '../../shared/wire/address.ts';
// The receive limit fits GenerateRequest.image (image-to-video); past it grpc-js refuses with RESOURCE_EXHAUSTED.
import { MAX_REQUEST_MESSAGE_BYTES } from '../../shared/wire/image-limits.ts';
import { RequestCancelledError, ExecutionProviderUnavailableError, InvalidArgumentError, ShuttingDownError } from '../errors.ts';
import { createLogger, type DaemonLogger } from '../log.ts';
import { ModelRegistry } from '../model/registry.ts';
import { TextToVideo } from '../pipeline/text-to-video.ts';
import { StyleSessionCache } from '../model/lora/style-sessions.ts';
import { DEFAULT_STYLE_CACHE_MB } from '../../shared/wire/styles.ts';
import { DEFAULT_PREVIEW_MIN_INTERVAL_MS, MAX_PREVIEW_MIN_INTERVAL_MS } from '../../shared/wire/previews.ts';
import { FairScheduler } from '../queue/fair-scheduler.ts';
import { describeMediaBinaries, getMediaBinaries } from '../media/binaries.ts';
import { OnnxWorkerClient } from '../worker/onnx-worker-client.ts';
import { createAnimatorHandlers } from './animator-service.ts';
import { checkQueueReachable } from '../cluster/redis.ts';
import { startClusterNode, type ClusterNode } from '../cluster/cluster-node.ts';
import type { ClusterCounts } from '../cluster/gateway.ts';
import type { JobDispatcher } from './dispatcher.ts';
import { LocalDispatcher } from './local-dispatcher.ts';
import type { RunJobDeps } from './run-job.ts';
import { verifyWatermark } from '../media/encode.ts';
import type { Watermark } from '../media/watermark.ts';
import { PERMIT_CLIENT_KEEPALIVE, isLoopbackHost, serverCredentials, type ServerTlsOptions } from './auth.ts';
import { HealthState } from './health-service.ts';
import { addReflection } from './reflection.ts';
import { daemonInUseHint, listenError } from '../../shared/listen-error.ts';
import { assertCanListen } from './listen-probe.ts';
import { JobTable } from './job-table.ts';
import { refuseMalformedRequests } from './malformed-requests.ts';
import { DaemonMetrics } from '../metrics/registry.ts';
import { createPromptPolicy } from '../policy/prompt-policy.ts';
import { openDaemonSafety, SAFETY_MODEL_DIR_VARIABLE, type OutputSafety } from '../safety/output-safety.ts';
import { startMetricsServer } from '../metrics/server.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_MODELS_DIR = path.join(REPO_ROOT, 'models');
export const DEFAULT_MODEL = 'tiny-world';

export interface DaemonOptions {
  /** 'host:port' to listen on. Default DEFAULT_DAEMON_ADDRESS (127.0.0.1:50051); port 0 picks a free port. */
  listen?: string;
  /** Folder whose sub-folders are model packages. Default: the repo's models/. */
  modelsDir?: string;
  /** Extra model package folders. */
  modelDirs?: string[];
  /** Model used when a request names none. Default 'tiny-world' when present, else the first package found. */
  defaultModel?: string;
  /** Jobs denoising at once; their steps are batched together in the denoiser. Default 1. */
  concurrency?: number;
  /** Jobs waiting at most. Default 32. */
  maxQueue?: number;
  /** Jobs one requester may have waiting. Default 8. */
  maxQueuePerUser?: number;
  /** When set, every call must carry `authorization: Bearer <token>` (compared in constant time). */
  token?: string;
  /** Serve TLS with this PEM certificate and key; with `clientCa`, mutual TLS. Default: plaintext (fine on loopback). */
  tls?: ServerTlsOptions;
  /** onnxruntime execution provider. Default 'cpu'. */
  executionProvider?: ExecutionProvider;
  /** onnxruntime intra-op threads; 0 = one per core. Default 0. */
  threads?: number;
  /** Largest denoiser batch across jobs. Default 8. */
  maxBatch?: number;
  /** Guidance as one batch of cond and uncond (1) or two passes (2), for every model. Default: each package's guidance_passes. */
  guidancePasses?: 1 | 2;
  /** MiB of styled transformer graphs (LoRA merged in) kept for reuse, all models together. Default DEFAULT_STYLE_CACHE_MB (256). */
  styleCacheMb?: number;
  /** Least time between two previews of a clip, in ms (0 to 60000). Default DEFAULT_PREVIEW_MIN_INTERVAL_MS (250). */
  previewIntervalMs?: number;
  /** Generate streams following one job at most (a retried id, a second viewer). Default 8. */
  maxStreamsPerJob?: number;
  /** Generate streams on one client connection at most (a bot carries everyone's jobs on one). Default 256. */
  maxStreamsPerConnection?: number;
  /** Join a cluster: jobs go on the BullMQ queue on this Redis (redis://HOST:PORT). Default: none, one process. */
  queueUrl?: string;
  /** With queueUrl: 'gateway' takes gRPC calls and queues them, 'worker' runs queued jobs, 'both' does both. Default 'both'. */
  role?: ClusterRole;
  /** With queueUrl: a worker's lease on its running job, s; a dead worker's job runs again within about twice this. Default 30. */
  leaseSeconds?: number;
  /** Serve Prometheus metrics on http://HOST:PORT/metrics. Default: none. */
  metricsListen?: string;
  /** The operator's visible mark on every final clip (media/watermark.ts resolveWatermark); checked with ffmpeg at start. Default none. */
  watermark?: Watermark | undefined;
  /** The prompt policy's list (ANIMATE_BLOCKLIST_FILE): one term or phrase per line; it replaces the default terms. Default: none (DEFAULT_BLOCKED_TERMS). */
  blocklistFile?: string;
  /** The prompt policy's terms given in code, instead of a file. Default: DEFAULT_BLOCKED_TERMS (shared/policy/blocklist.ts). */
  blockedTerms?: string[];
  /** ANIMATE_LOG_PROMPTS: log lines about a request (refusals) carry its prompt text. Default false. */
  logPrompts?: boolean;
  /** ANIMATE_PROVENANCE_PROMPTS: each MP4's metadata carries its prompt and negative prompt too. Default false. */
  provenancePrompts?: boolean;
  /**
   * ANIMATE_SAFETY_MODEL_DIR: a folder with an output safety classifier (model.onnx + config.json, docs/model-package.md
   * "safety/") run on every model's clips before they are sent, besides a package's own safety/. Default: none.
   */
  safetyModelDir?: string;
  logger?: DaemonLogger;
  /** Observe finished generations (benchmarks). */
  onGenerationReport?: RunJobDeps['onGenerationReport'];
}

const optionsSchema = z.object({
  listen: z.string().refine(isHostPort, `expected ${HOST_PORT_HINT}`).default(DEFAULT_DAEMON_ADDRESS),
  modelsDir: z.string().optional(),
  modelDirs: z.array(z.string()).default([]),
  defaultModel: z.string().optional(),
  concurrency: z.number().int().min(1).max(64).default(1),
  maxQueue: z.number().int().min(0).max(10_000).default(32),
  maxQueuePerUser: z.number().int().min(1).max(10_000).default(8),
  token: z.string().min(1).optional(),
  tls: z
    .object({ cert: z.union([z.string().min(1), z.instanceof(Buffer)]), key: z.union([z.string().min(1), z.instanceof(Buffer)]), clientCa: z.union([z.string().min(1), z.instanceof(Buffer)]).optional() })
    .optional(),
  executionProvider: z.enum(EXECUTION_PROVIDERS).default('cpu'),
  threads: z.number().int().min(0).max(256).default(0),
  maxBatch: z.number().int().min(1).max(256).default(8),
  guidancePasses: z.union([z.literal(1), z.literal(2)]).optional(),
  styleCacheMb: z.number().int().min(0).max(65_536).default(DEFAULT_STYLE_CACHE_MB),
  previewIntervalMs: z.number().int().min(0).max(MAX_PREVIEW_MIN_INTERVAL_MS).default(DEFAULT_PREVIEW_MIN_INTERVAL_MS),
  maxStreamsPerJob: z.number().int().min(1).max(100_000).default(8),
  maxStreamsPerConnection: z.number().int().min(1).max(100_000).default(256),
  queueUrl: queueUrl('queueUrl (ANIMATE_QUEUE_URL)').optional(),
  role: z.enum(CLUSTER_ROLES).default('both'),
  leaseSeconds: z.number().int().min(1).max(600).default(30),
  metricsListen: z.string().refine(isHostPort, `expected ${HOST_PORT_HINT}`).optional(),
  blocklistFile: z.string().min(1).optional(),
  blockedTerms: z.array(z.string()).max(10_000).optional(),
  logPrompts: z.boolean().default(false),
  provenancePrompts: z.boolean().default(false),
  safetyModelDir: z.string().min(1).optional(),
});

export interface RunningDaemon {
  /** The address it listens on, with the real port ('' for a cluster worker, which takes no gRPC calls). */
  address: string;
  port: number;
  /** 'single' without a queue; else the cluster role. */
  role: ClusterRole | 'single';
  /** A cluster worker's id (as its heartbeat and logs name it). */
  workerId?: string;
  /** HOST:PORT of GET /metrics and /healthz (real port), when options.metricsListen is set. */
  metricsAddress?: string;
  /** Its Prometheus metrics, for a process that serves them with others on one /metrics (app/metrics.ts). */
  metrics: DaemonMetrics;
  models: ModelRegistry<TextToVideo>;
  /**
   * Stops taking requests, lets running jobs finish for up to `graceMs` (default 10 s), cancels the rest with a message.
   * Called again while closing with `graceMs: 0` (a second Ctrl-C), it stops the running jobs now instead.
   */
  close(options?: { graceMs?: number }): Promise<void>;
  /** Test hook: crash the inference worker thread as a native fault would. */
  crashWorker(): void;
}

export async function startDaemon(input: DaemonOptions = {}): Promise<RunningDaemon> {
  const { logger, onGenerationReport, watermark, ...rest } = input;
  const parsed = optionsSchema.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidArgumentError(issue.path.join('.') || 'options', issue.message);
  }
  const options = parsed.data;
  const log = logger ?? createLogger('info');
  // Credentials first: a bad certificate or key is a start-up error before any model is loaded.
  const credentials = serverCredentials(options.tls);
  const listenSetting = { variable: 'ANIMATE_LISTEN', flag: '--listen', whenInUse: daemonInUseHint(options.listen) };

  const cluster = options.queueUrl ? { url: options.queueUrl, role: options.role } : undefined;
  // A cluster gateway runs no model and a cluster worker takes no gRPC calls; a single daemon does both.
  const runsJobs = !cluster || cluster.role !== 'gateway';
  const servesCalls = !cluster || cluster.role !== 'worker';
  // Then the address: a busy port is said now, not after the ffmpeg checks and the model load below.
  if (servesCalls) await assertCanListen(options.listen, listenSetting);
  // The prompt policy (inference/policy/), read now: a bad blocklist file stops start-up naming ANIMATE_BLOCKLIST_FILE and the line.
  const policy = servesCalls ? createPromptPolicy({ blocklistFile: options.blocklistFile, blockedTerms: options.blockedTerms }) : undefined;
  if (policy) log.info('prompt policy', { blocklist: policy.description, logPrompts: options.logPrompts });
  // A watermark ffmpeg cannot draw is a start-up error naming its setting, not a failure of every job.
  if (watermark && runsJobs) await verifyWatermark(watermark, watermark.kind === 'text' ? 'ANIMATE_WATERMARK' : 'ANIMATE_WATERMARK_IMAGE');
  // Before any model is loaded: an unreachable Redis is a start-up error naming ANIMATE_QUEUE_URL, at once.
  if (cluster) await checkQueueReachable(cluster.url);

  const worker = new OnnxWorkerClient(
    { executionProvider: options.executionProvider, intraOpThreads: options.threads },
    (why) => log.error('inference worker crashed; started a new one', { why }),
  );
  let models: ModelRegistry<TextToVideo>;
  let safety: OutputSafety | undefined;
  // One cache of styled transformer sessions for every model (model/lora/style-sessions.ts).
  const styleSessions = new StyleSessionCache(worker, { maxBytes: options.styleCacheMb * 1024 * 1024 });
  try {
    // Find and check ffmpeg now, so a missing encoder is a start-up error rather than the first request's; which
    // ffmpeg (system 5+ or npm) is said once, here.
    log.info(describeMediaBinaries(await getMediaBinaries()));
    models = await ModelRegistry.open({
      modelsDir: options.modelsDir ?? (options.modelDirs.length ? undefined : DEFAULT_MODELS_DIR),
      modelDirs: options.modelDirs,
      defaultModel: options.defaultModel,
      preferredDefault: DEFAULT_MODEL,
      worker,
      log,
      serve: (sessions) => new TextToVideo(sessions, { maxBatch: options.maxBatch, guidancePasses: options.guidancePasses, styleSessions, previewMinIntervalMs: options.previewIntervalMs }),
    });
    // Load the default model now: a broken package or an unavailable execution provider fails at start, not on the first request.
    if (runsJobs) await models.load(models.defaultModel).catch((err: Error) => {
      if (options.executionProvider !== 'cpu') {
        throw new ExecutionProviderUnavailableError(
          `execution provider "${options.executionProvider}" (ANIMATE_EXECUTION_PROVIDER) is unavailable on this machine: ${err.message}. Use cpu, or install the provider (see README).`,
        );
      }
      throw err;
    });
    // The output safety check (inference/safety/): the daemon-wide classifier and the default model's own are loaded
    // and checked now, so a broken one stops start-up naming its setting or file.
    if (runsJobs) {
      safety = await openDaemonSafety(worker, options.safetyModelDir);
      await safety.prepare(models.package(models.defaultModel));
      if (options.safetyModelDir) log.info('output safety check', { classifier: SAFETY_MODEL_DIR_VARIABLE, labels: safety.daemonLabels });
    }
  } catch (err) {
    await worker.close();
    throw err;
  }

  let shuttingDown = false;
  const health = new HealthState();
  let scheduler: FairScheduler | undefined;
  let node: ClusterNode | undefined;
  const counts = cachedCounts(() => node?.counts() ?? Promise.resolve({ waiting: 0, workers: 0, slots: 0, busy: 0 }));
  // Metrics (inference/metrics/): gauges read the queue when scraped (the cluster's, from Redis); every job this daemon
  // follows is observed (not a listener). A cluster worker's jobs are counted by the gateways that relay them.
  const metrics = new DaemonMetrics({
    sources: cluster
      ? { queueDepth: async () => (await counts()).waiting, running: async () => (await counts()).busy, workers: async () => (await counts()).workers }
      : { queueDepth: () => scheduler?.queuedCount ?? 0, running: () => scheduler?.runningCount ?? 0, workers: () => 1 },
    onSourceError: (err) => log.warn('a metrics source failed', { error: err.message }),
  });
  const jobs = new JobTable({ onAdd: (job) => metrics.observe(job) });
  let dispatcher: JobDispatcher | undefined;
  if (cluster) {
    try {
      node = await startClusterNode(
        { url: cluster.url, role: cluster.role, leaseSeconds: options.leaseSeconds, concurrency: options.concurrency, maxQueued: options.maxQueue, maxQueuedPerOwner: options.maxQueuePerUser },
        { models, log, jobs, onGenerationReport, watermark, safety, logPrompts: options.logPrompts, provenancePrompts: options.provenancePrompts, onServing: (serving) => health.set(serving ? 'SERVING' : 'NOT_SERVING') },
      );
    } catch (err) {
      await worker.close();
      throw err;
    }
    dispatcher = node.gateway;
  } else {
    scheduler = new FairScheduler({ concurrency: options.concurrency, maxQueued: options.maxQueue, maxQueuedPerOwner: options.maxQueuePerUser, onError: (err) => log.error('a job run failed past its own handling', { error: err instanceof Error ? err.message : String(err) }) });
    dispatcher = new LocalDispatcher({ models, log, scheduler, jobs, onGenerationReport, watermark, safety, logPrompts: options.logPrompts, provenancePrompts: options.provenancePrompts });
  }
  const server = servesCalls ? new grpc.Server({ 'grpc.max_send_message_length': 8 * 1024 * 1024, 'grpc.max_receive_message_length': MAX_REQUEST_MESSAGE_BYTES, ...PERMIT_CLIENT_KEEPALIVE }) : undefined;
  let address = '';
  let port = 0;
  if (server && dispatcher) {
    const { animator, health: healthProto } = loadProtos();
    // Undecodable requests get INVALID_ARGUMENT instead of grpc-js's INTERNAL (malformed-requests.ts).
    const animatorService = refuseMalformedRequests(
      animator.animate.v1.Animator.service,
      createAnimatorHandlers({ models, dispatcher, log, token: options.token, isShuttingDown: () => shuttingDown, maxStreamsPerJob: options.maxStreamsPerJob, maxStreamsPerConnection: options.maxStreamsPerConnection, policy, refusals: { count: (reason) => metrics.refused(reason), logPrompts: options.logPrompts } }),
    );
    const healthService = refuseMalformedRequests(healthProto.grpc.health.v1.Health.service, health.handlers());
    server.addService(animatorService.definition, animatorService.handlers);
    server.addService(healthService.definition, healthService.handlers);
    addReflection(server); // grpcurl and friends list and describe Animator and Health without the proto files

    port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(options.listen, credentials, (err, p) => (err ? reject(listenError(options.listen, listenSetting, err)) : resolve(p)));
    }).catch(async (err) => {
      await node?.close();
      await worker.close();
      throw err;
    });
    const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
    address = `${host}:${port}`;
    log.info('daemon listening', { address, models: models.names().join(','), default: models.defaultModel, provider: options.executionProvider, cores: os.cpus().length, auth: options.token ? 'token' : 'none', tls: options.tls ? (options.tls.clientCa ? 'mutual' : 'on') : 'off', role: cluster?.role ?? 'single' });
    if (!options.tls && !isLoopbackHost(host))
      log.warn('listening beyond this machine without TLS: prompts, clips and the token cross the network in clear; serve TLS with --tls-cert / --tls-key (README: "A GPU or remote daemon")', { address });
  }

  // After the gRPC bind, so a scrape never sees a daemon that cannot take calls; /healthz is 503 once it shuts down.
  const metricsServer = options.metricsListen
    ? await startMetricsServer({ listen: options.metricsListen, metrics, healthy: () => !shuttingDown && health.serving }).catch(async (err) => {
        server?.forceShutdown();
        await node?.close();
        await worker.close();
        throw err;
      })
    : undefined;
  if (metricsServer) log.info('metrics listening', { address: metricsServer.address });

  let closing: Promise<void> | undefined;
  let hurry: (() => void) | undefined;
  return {
    address,
    port,
    role: cluster?.role ?? 'single',
    ...(node?.worker ? { workerId: node.worker.id } : {}),
    metrics,
    models,
    crashWorker: () => worker.crash(),
    ...(metricsServer ? { metricsAddress: metricsServer.address } : {}),
    close({ graceMs = 10_000 } = {}) {
      if (closing && graceMs === 0) hurry?.();
      closing ??= (async () => {
        shuttingDown = true;
        scheduler?.close(); // no more place-in-line notices, and their timers are cleared
        health.beginShutdown(); // NOT_SERVING; a Watch from now on is answered and ended at once
        const graceOver = new Promise<void>((resolve) => {
          hurry = resolve;
          setTimeout(resolve, graceMs).unref();
        });
        const active = jobs.active();
        if (scheduler) {
          for (const job of active.filter((j) => j.state === 'queued')) {
            scheduler.remove(job.id);
            job.finish(new ShuttingDownError('the daemon is shutting down; this request was not started, please send it again'));
          }
        }
        // A cluster gateway's jobs go on in the cluster: their callers are told to send again (another gateway follows
        // them where they are); a single daemon's running jobs, and a cluster worker's, finish within the grace.
        const draining = scheduler ? active.filter((j) => j.state === 'running') : active;
        if (draining.length) log.info('draining jobs', { count: draining.length, graceMs });
        const drained = Promise.all(draining.map((j) => new Promise<void>((resolve) => j.onFinished(resolve))));
        const workerClosed = node ? node.closeWorker(graceOver) : Promise.resolve();
        if ((await Promise.race([drained.then(() => 'drained' as const), graceOver.then(() => 'timeout' as const)])) === 'timeout') {
          for (const j of draining) {
            if (scheduler) j.abort.abort(new RequestCancelledError('the daemon shut down before this clip was finished; please send it again'));
            else j.finish(new ShuttingDownError('this gateway is shutting down; send the request again with the same request_id and another gateway streams the job where it is'));
          }
          await drained;
        }
        await workerClosed;
        await node?.close(); // after the drain: the relay fed the gateway's streams until now
        health.endWatches();
        if (server) {
          // Streams end above; a peer that keeps its connection open must not hold shutdown forever.
          const forced = setTimeout(() => server.forceShutdown(), 2000);
          await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
          clearTimeout(forced);
        }
        await metricsServer?.close(); // last: scrapes still see the drain
        await worker.close();
        log.info('daemon stopped');
      })();
      return closing;
    },
  };
}

/** One reading of the cluster's counts serves every gauge of a scrape (they are read together). */
function cachedCounts(read: () => Promise<ClusterCounts>, maxAgeMs = 500): () => Promise<ClusterCounts> {
  let last: { at: number; value: Promise<ClusterCounts> } | undefined;
  return () => {
    const now = performance.now();
    if (!last || now - last.at > maxAgeMs) {
      last = { at: now, value: read() };
      last.value.catch(() => (last = undefined));
    }
    return last.value;
  };
}
