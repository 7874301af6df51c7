// A whole cluster for the process-level tests of issue #21 (test/cluster/): a redis-server of the test's own
// (tools/cluster/local-redis.ts), gateway and worker daemons as separate processes (daemon-process.ts) on one fixture
// model package, and typed clients on each gateway. Separate processes because that is the point of those tests: a
// worker or gateway is killed with SIGKILL, Redis dies and comes back, and what survives must be another process.
// One `TestCluster` per test: its own Redis, so no test's worker takes another test's jobs; close() ends everything.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { buildFixturePackage, type FixtureOptions, type FixturePackage } from '../fixtures/fixture-model.ts';
import { startDaemonProcess, type DaemonProcess } from './daemon-process.ts';
import { freeLoopbackPort, startLocalRedis, type LocalRedis } from '../../tools/cluster/local-redis.ts';
import { clusterKeys } from '../../inference/cluster/keys.ts';
import { decodeEvent } from '../../inference/cluster/event-codec.ts';
import { connectAnimator, type AnimatorConnection } from '../../shared/rpc/client.ts';
import { loadProtos } from '../../shared/rpc/proto.ts';
import type { GenerateEvent__Output } from '../../shared/rpc/types.ts';
import { readDaemonErrorCode } from '../../shared/wire/error-codes.ts';
import { clipBytes } from './fixture-daemon.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type ClusterRole = 'gateway' | 'worker' | 'both';

/** What every test daemon runs with unless a test says otherwise; written once. */
export const CLUSTER_TEST_DEFAULTS = {
  /** One onnxruntime thread each: four daemons share 2 CI cores. */
  threads: 1,
  /** One job at a time per worker, so start order is the queue's order. */
  concurrency: 1,
  /** How long a daemon may take to print its ready line (a loaded machine starts slowly). */
  readyTimeoutMs: 45_000,
  /** How long SIGKILL may take to be seen as an exit. */
  killTimeoutMs: 10_000,
} as const;

/** The line a worker prints once it takes jobs (a gateway or both prints "animate daemon ready on ADDRESS"). */
const WORKER_READY = /animate worker ready/;
/** The worker id in that line: the id job records name in their `worker` field. */
const WORKER_ID = /animate worker ready \(worker ([^;)\s]+)/;

export interface ClusterDaemon extends DaemonProcess {
  readonly role: ClusterRole;
  /** A worker's id, as its ready line gives it and job records name it (undefined for a gateway). */
  readonly workerId: string | undefined;
  /** SIGKILL (dies as on a crash: no drain, no goodbye to Redis); resolves once the process has exited. */
  kill9(): Promise<void>;
  /** Whether the process is still running. */
  alive(): boolean;
}

export interface ClusterDaemonOptions {
  /** --lease-seconds (a worker's hold on its job). Default: the daemon's own (ANIMATE_LEASE_SECONDS' default). */
  leaseSeconds?: number;
  /**
   * --metrics-listen HOST:PORT (port 0: a free one; metricsAddressOf finds it, with ANIMATE_LOG_LEVEL=info in `env`).
   * Default: no metrics server.
   */
  metricsListen?: string;
  /** --concurrency. Default CLUSTER_TEST_DEFAULTS.concurrency. */
  concurrency?: number;
  /** More ANIMATE_* environment. Default none. */
  env?: Record<string, string>;
}

export interface TestClusterOptions {
  /** The fixture model package every daemon serves (its name is the default model). Default: fixture defaults. */
  fixture?: FixtureOptions;
  /** Environment given to every daemon of this cluster (e.g. queue caps for gateways). Default none. */
  env?: Record<string, string>;
}

export interface TestCluster {
  readonly redis: LocalRedis;
  readonly fixture: FixturePackage;
  readonly modelsDir: string;
  /** Starts a daemon of `role` on this cluster's Redis and waits for its ready line. */
  start(role: ClusterRole, options?: ClusterDaemonOptions): Promise<ClusterDaemon>;
  /** A typed client on a gateway (closed by close()). */
  connect(gateway: ClusterDaemon): AnimatorConnection;
  /** A command connection to this cluster's Redis, to read what the daemons wrote there (closed by close()). */
  inspect(): Redis;
  /** Kills every daemon still running, closes clients and Redis connections, stops Redis, removes the models. */
  close(): Promise<void>;
}

export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const modelsDir = await mkdtemp(path.join(os.tmpdir(), 'animate-cluster-models-'));
  const fixture = await buildFixturePackage(path.join(modelsDir, options.fixture?.name ?? 'fixture'), options.fixture);
  const redis = await startLocalRedis();
  const daemons: ClusterDaemon[] = [];
  const clients: AnimatorConnection[] = [];
  const inspectors: Redis[] = [];
  return {
    redis,
    fixture,
    modelsDir,
    async start(role, daemonOptions = {}) {
      const daemon = await startClusterDaemon({
        role,
        queueUrl: redis.url,
        modelsDir,
        model: fixture.options.name,
        ...daemonOptions,
        env: { ...options.env, ...daemonOptions.env },
      });
      daemons.push(daemon);
      return daemon;
    },
    connect(gateway) {
      if (!gateway.address) throw new Error(`a ${gateway.role} daemon listens on no address: connect to a gateway or both`);
      const client = connectAnimator(gateway.address);
      clients.push(client);
      return client;
    },
    inspect() {
      const r = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: false });
      r.on('error', () => {}); // a test that kills Redis sees the failure in its own calls
      inspectors.push(r);
      return r;
    },
    async close() {
      for (const c of clients.splice(0)) c.close();
      for (const r of inspectors.splice(0)) r.disconnect();
      // SIGKILL, not a drain: nothing of a test's cluster is worth waiting for, and a drain holds running jobs.
      await Promise.all(daemons.splice(0).map((d) => d.kill9()));
      await redis.stop();
      await rm(modelsDir, { recursive: true, force: true });
    },
  };
}

export interface ClusterDaemonStart extends ClusterDaemonOptions {
  role: ClusterRole;
  queueUrl: string;
  modelsDir: string;
  model: string;
}

/** One cluster daemon process, by its command line (`--queue URL --role ROLE …`, as docs/cluster.md gives it). */
export async function startClusterDaemon(o: ClusterDaemonStart): Promise<ClusterDaemon> {
  const args = [
    '--queue', o.queueUrl,
    '--role', o.role,
    '--threads', String(CLUSTER_TEST_DEFAULTS.threads),
    '--concurrency', String(o.concurrency ?? CLUSTER_TEST_DEFAULTS.concurrency),
    ...(o.leaseSeconds !== undefined ? ['--lease-seconds', String(o.leaseSeconds)] : []),
    ...(o.metricsListen !== undefined ? ['--metrics-listen', o.metricsListen] : []),
  ];
  const d = await startDaemonProcess({
    modelsDir: o.modelsDir,
    defaultModel: o.model,
    args,
    ...(o.env ? { env: o.env } : {}),
    readyTimeoutMs: CLUSTER_TEST_DEFAULTS.readyTimeoutMs,
    ...(o.role === 'worker' ? { readyPattern: WORKER_READY } : {}),
  });
  const exited = new Promise<void>((resolve) => {
    if (d.child.exitCode !== null || d.child.signalCode !== null) resolve();
    else d.child.once('exit', () => resolve());
  });
  const alive = () => d.child.exitCode === null && d.child.signalCode === null;
  return {
    ...d,
    role: o.role,
    workerId: WORKER_ID.exec(d.output())?.[1],
    alive,
    async kill9() {
      if (!alive()) return;
      d.child.kill('SIGKILL');
      await within(exited, CLUSTER_TEST_DEFAULTS.killTimeoutMs, `${o.role} pid ${d.pid} to exit after SIGKILL`);
    },
  };
}

/**
 * The line a daemon logs at info level once its metrics server listens; its capture is the real HOST:PORT. A daemon
 * whose stderr is a pipe logs JSON (ANIMATE_LOG_FORMAT=auto), one with ANIMATE_LOG_FORMAT=pretty key=value text.
 */
const METRICS_LISTENING = /metrics listening address=(\S+)|"address":"([^"]+)","msg":"metrics listening"/;

/**
 * Where a daemon started with `metricsListen` serves /metrics: the address its info-level log line gives (port 0 is
 * chosen by the daemon, and only that line tells it). The line goes to stderr, which may arrive after the ready line on
 * stdout, so it is waited for, up to `timeoutMs`.
 */
export async function metricsAddressOf(daemon: DaemonProcess, timeoutMs = 5_000): Promise<string> {
  let address: string | undefined;
  await waitFor(() => (address = ((m) => m?.[1] ?? m?.[2])(METRICS_LISTENING.exec(daemon.output()))) !== undefined, `the "metrics listening" line of pid ${daemon.pid} (started with metricsListen and ANIMATE_LOG_LEVEL=info?)`, timeoutMs, 50);
  return address!;
}

/** A daemon run that is expected to fail at start-up: its exit code and output (killed after `timeoutMs`). */
export function runDaemonToExit(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; ms: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'inference/cli/daemon.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANIMATE_'))), ANIMATE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => {
    // A daemon that does not exit is the failure this catches: end it, and report what it printed.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, ms: Math.round(performance.now() - started) });
    });
  });
}

/** A loopback port nobody listens on (bound, then closed): Redis "unreachable" at a real address. */
export const closedLoopbackPort = freeLoopbackPort;

/** grpc.health.v1 Check of the Animator service: its status, or 'ERROR <code>' when the call itself fails. */
export function healthStatus(address: string, timeoutMs = 2_000): Promise<string> {
  const { health } = loadProtos();
  const client = new health.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
  return new Promise<string>((resolve) => {
    client.Check({ service: 'animate.v1.Animator' }, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, res?: { status: string }) => {
      client.close();
      resolve(err ? `ERROR ${grpc.status[err.code]}` : String(res?.status));
    });
  });
}

/** Polls `check` every `everyMs` until it returns true; the elapsed ms, or a rejection naming `what` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs: number, everyMs = 100): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return Math.round(performance.now() - started);
    if (performance.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The promise's value, or a rejection naming `what` after `ms`: no test of a cluster may hang on a lost event. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** The job's record (animate:job:{id}) as the cluster keeps it, {} when there is none. */
export function jobRecord(redis: Redis, id: string): Promise<Record<string, string>> {
  return redis.hgetall(clusterKeys().job(id));
}

/** One entry of a job's event stream (animate:events:{id}): its Redis time (ms, the publisher's order) and content. */
export interface RecordedEntry {
  ms: number;
  seq: number;
  kind: string;
  /** The GenerateEvent's kind for an `e` entry ('started', 'progress', …), else undefined. */
  event?: string;
  stage?: string;
}

/** The entries of a job's event stream in order, decoded enough to tell started, progress and the end apart. */
export async function recordedEvents(redis: Redis, id: string): Promise<RecordedEntry[]> {
  const entries = await redis.xrangeBuffer(clusterKeys().events(id), '-', '+');
  return entries.map(([rawId, fields]) => {
    const [ms, seq] = rawId.toString().split('-').map(Number) as [number, number];
    const f = new Map<string, Buffer>();
    for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!.toString(), fields[i + 1]!);
    const kind = f.get('k')?.toString() ?? '?';
    if (kind !== 'e' || !f.has('v')) return { ms, seq, kind };
    const event = decodeEvent(f.get('v')!) as Record<string, unknown> & { progress?: { stage?: string } };
    const which = ['queued', 'started', 'progress', 'preview', 'clip', 'done'].find((k) => event[k] !== undefined && event[k] !== null);
    return { ms, seq, kind, ...(which ? { event: which } : {}), ...(event.progress?.stage ? { stage: event.progress.stage } : {}) };
  });
}

/** What one Generate stream showed, counted: the cluster's promises are "exactly one" of several of these. */
export interface StreamSummary {
  started: number;
  done: number;
  /** Progress events with stage "restarted" (another worker took the job up). */
  restarted: number;
  /** Denoise steps in arrival order (they count again from 1 after a restart). */
  denoiseSteps: number[];
  /** MP4 clip chunks, and whether any offset came twice (a clip sent twice). */
  clipChunks: number;
  clipOffsetsRepeat: boolean;
  /** totalBytes the chunks declare (0 without a clip), and the bytes they carry, assembled by offset. */
  clipDeclaredBytes: number;
  clip: Buffer;
}

export function summarize(events: GenerateEvent__Output[]): StreamSummary {
  const chunks = events.filter((e) => e.clip && e.clip.format === 'MP4').map((e) => e.clip!);
  const offsets = chunks.map((c) => Number(c.offset));
  return {
    started: events.filter((e) => e.started).length,
    done: events.filter((e) => e.done).length,
    restarted: events.filter((e) => e.progress?.stage === 'restarted').length,
    denoiseSteps: events.filter((e) => e.progress?.stage === 'denoise').map((e) => e.progress!.step),
    clipChunks: chunks.length,
    clipOffsetsRepeat: new Set(offsets).size !== offsets.length,
    clipDeclaredBytes: chunks.length ? Number(chunks[0]!.totalBytes) : 0,
    clip: clipBytes(events),
  };
}

/** The daemon's code from a failed call's `animate-error-code` trailer. */
export function errorCodeOf(error: { metadata?: { get(k: string): unknown[] } } | undefined): string | undefined {
  return readDaemonErrorCode(error?.metadata as grpc.Metadata | undefined).raw;
}

/** The job as Redis holds it, in one line, for failure messages: its record and the kinds of its stream's entries. */
export async function describeJob(redis: Redis, id: string): Promise<string> {
  try {
    const [record, entries] = await Promise.all([jobRecord(redis, id), recordedEvents(redis, id)]);
    const kinds = entries.map((e) => (e.kind === 'e' ? (e.stage ?? e.event ?? 'e') : e.kind));
    return `${id}: record ${JSON.stringify(record)}; stream [${kinds.join(' ')}]`;
  } catch (err) {
    return `${id}: Redis could not be read (${(err as Error).message})`;
  }
}
