// `npm run bench -- --cluster`: what scaling out buys on this machine, measured side by side in one run with real
// processes: a local Redis (tools/cluster/local-redis.ts), one gateway, and worker daemons (one onnxruntime thread,
// one job at a time each). Per run it measures
//   1. clips per minute with 1 worker, then with 2 workers: N jobs from 3 people sent at once through the gateway;
//   2. failover: one job, the worker running it SIGKILLed at about step 5 of 20; the time from the kill to the job's
//      Progress stage "restarted" (another worker took it up) and to its clip, which must arrive exactly once.
// and prints medians over --runs runs and the 2w/1w ratio. A client of the daemon like tools/bench/bench.ts.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectAnimator, type AnimatorConnection } from '../../shared/rpc/client.ts';
import type { GenerateRequest } from '../../shared/rpc/types.ts';
import { DEFAULT_MODELS_DIR, DEFAULT_MODEL } from '../../inference/server/daemon.ts';
import { startLocalRedis, type LocalRedis } from '../cluster/local-redis.ts';
import { startClusterDaemon, type ClusterDaemon } from '../cluster/cluster-daemon.ts';
import { CodedError } from '../../shared/errors.ts';
import { median } from './stats.ts';

export type ClusterBenchErrorCode = 'BENCH_BAD_OPTION' | 'BENCH_JOB_FAILED' | 'BENCH_FAILOVER_UNSEEN';
export class ClusterBenchError extends CodedError<ClusterBenchErrorCode> {}

export interface ClusterBenchOptions {
  /** Folder of model packages every daemon serves. Default models/. */
  modelsDir?: string | undefined;
  /** The model jobs use. Default tiny-world (the embedded one). */
  model?: string | undefined;
  /** Measured runs; medians are over these. Default 3. */
  runs?: number | undefined;
  /** Jobs sent at once in each throughput measurement, spread over PEOPLE round-robin. Default 12. */
  jobs?: number | undefined;
  /** Denoising steps of every job. Default 20. */
  steps?: number | undefined;
  /** The failover job's worker is killed once its denoising reaches this step. Default 5. */
  killStep?: number | undefined;
  /** Workers' --lease-seconds: how soon a dead worker's job is taken up. Default 2. */
  leaseSeconds?: number | undefined;
  prompt?: string | undefined;
}

/** The options with every default filled in. */
type Resolved = { [K in keyof ClusterBenchOptions]-?: NonNullable<ClusterBenchOptions[K]> };

export const CLUSTER_BENCH_DEFAULTS = { runs: 3, jobs: 12, steps: 20, killStep: 5, leaseSeconds: 2, prompt: 'a red ball bouncing at sunset' } as const;
/** The people the jobs come from (fairness is per person: everyone's first job before anyone's second). */
const PEOPLE = ['bench-ana', 'bench-bo', 'bench-cy'] as const;
/** A job that neither ends nor fails within this long is a hang, not a figure. */
const JOB_TIMEOUT_MS = 5 * 60_000;

const USAGE = `Usage: npm run bench -- --cluster [--runs N] [--jobs N] [--steps N] [--kill-step N] [--lease-seconds N] [--models-dir DIR] [--model NAME] [--prompt TEXT]

Starts a local redis-server (Debian's), one gateway and worker daemons as processes, and measures clips per minute
with 1 and 2 workers and the failover time after a worker is SIGKILLed mid-job.
Defaults: ${CLUSTER_BENCH_DEFAULTS.runs} runs, ${CLUSTER_BENCH_DEFAULTS.jobs} jobs from ${PEOPLE.length} people, ${CLUSTER_BENCH_DEFAULTS.steps} steps, kill at step ${CLUSTER_BENCH_DEFAULTS.killStep}, lease ${CLUSTER_BENCH_DEFAULTS.leaseSeconds} s, models/${DEFAULT_MODEL}.
`;

interface JobOutcome {
  /** ms from the batch's start to this job's last clip chunk. */
  clipMs: number;
  clips: number;
  dones: number;
}

interface Failover {
  killedAtStep: number;
  toRestartedMs: number;
  toClipMs: number;
}

let requestCounter = 0;
const requestId = (what: string) => `bench-${what}-${process.pid}-${Date.now().toString(36)}-${requestCounter++}`;

function request(o: Resolved, person: string, seed: number, what: string): GenerateRequest {
  return {
    prompt: o.prompt,
    seed,
    steps: o.steps,
    model: o.model,
    requestId: requestId(what),
    requester: { userId: person, platform: 'CLI' },
  };
}

/** Runs one job to its end: counts its clips (last chunks) and Done events; throws on a failed job. */
/** What the failover measurement watches of a job's stream: its start, and each Progress. */
type Watched = { kind: 'started' } | { kind: 'progress'; step: number; stage: string };

async function runJob(client: AnimatorConnection, req: GenerateRequest, t0: number, onEvent?: (e: Watched) => void): Promise<JobOutcome> {
  const outcome: JobOutcome = { clipMs: Number.NaN, clips: 0, dones: 0 };
  const signal = AbortSignal.timeout(JOB_TIMEOUT_MS);
  for await (const e of client.generate(req, { signal })) {
    if (e.started) onEvent?.({ kind: 'started' });
    if (e.progress) onEvent?.({ kind: 'progress', step: e.progress.step, stage: e.progress.stage });
    if (e.clip?.last) {
      outcome.clips++;
      outcome.clipMs = performance.now() - t0;
    }
    if (e.done) outcome.dones++;
  }
  if (outcome.clips !== 1 || outcome.dones !== 1) throw new ClusterBenchError('BENCH_JOB_FAILED', `job ${req.requestId}: ${outcome.clips} clips and ${outcome.dones} Done events, expected exactly 1 of each`);
  return outcome;
}

/** `count` jobs from PEOPLE round-robin, all sent at once; clips per minute over the whole batch. */
async function throughput(client: AnimatorConnection, o: Resolved, count: number, what: string): Promise<number> {
  const t0 = performance.now();
  const outcomes = await Promise.all(Array.from({ length: count }, (_, i) => runJob(client, request(o, PEOPLE[i % PEOPLE.length]!, i + 1, what), t0)));
  const wallMs = Math.max(...outcomes.map((r) => r.clipMs));
  return (count * 60_000) / wallMs;
}

/**
 * One job on a cluster of two idle workers; the one running it (the one burning CPU since the job started: the other
 * is idle) is SIGKILLed at step `killStep`. Returns the kill's figures and the survivor.
 */
async function failover(client: AnimatorConnection, o: Resolved, workers: ClusterDaemon[]): Promise<{ figures: Failover; survivor: ClusterDaemon }> {
  const t0 = performance.now();
  let cpuAtStart: number[] | undefined;
  let victim: ClusterDaemon | undefined;
  let killedAtStep = 0;
  let killAt = 0;
  let restartedAt = 0;
  let busyCpu: number[] = [];
  const req = request(o, PEOPLE[0], 7, 'failover');
  const outcome = await runJob(client, req, t0, (e) => {
    if (e.kind === 'started') {
      cpuAtStart ??= workers.map((w) => w.cpuSeconds());
      return;
    }
    if (!victim && e.stage === 'denoise' && e.step >= o.killStep) {
      const before = cpuAtStart ?? workers.map(() => 0);
      const used = workers.map((w, i) => w.cpuSeconds() - before[i]!);
      victim = workers[used.indexOf(Math.max(...used))]!;
      killedAtStep = e.step;
      victim.kill('SIGKILL');
      killAt = performance.now();
      busyCpu = used;
    }
    if (victim && !restartedAt && e.stage === 'restarted') restartedAt = performance.now();
  });
  if (!victim) throw new ClusterBenchError('BENCH_FAILOVER_UNSEEN', `the failover job ended before step ${o.killStep}: nothing was killed`);
  if (!restartedAt) {
    const cpu = busyCpu.map((c) => `${c.toFixed(2)} s`).join(' and ');
    throw new ClusterBenchError('BENCH_FAILOVER_UNSEEN', `the failover job's clip came without a "restarted" progress event: the worker killed (pid ${victim.pid}, the busier: ${cpu} of CPU since the job started) was not the one running it`);
  }
  await victim.kill9();
  return {
    figures: { killedAtStep, toRestartedMs: restartedAt - killAt, toClipMs: outcome.clipMs - (killAt - t0) },
    survivor: workers.find((w) => w !== victim)!,
  };
}

export async function runClusterBench(options: ClusterBenchOptions = {}): Promise<void> {
  const o: Resolved = {
    ...CLUSTER_BENCH_DEFAULTS,
    modelsDir: path.resolve(DEFAULT_MODELS_DIR),
    model: DEFAULT_MODEL,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  };
  for (const [name, value, min] of [['runs', o.runs, 1], ['jobs', o.jobs, 1], ['steps', o.steps, 2], ['kill-step', o.killStep, 1], ['lease-seconds', o.leaseSeconds, 1]] as const) {
    if (!Number.isInteger(value) || value < min) throw new ClusterBenchError('BENCH_BAD_OPTION', `--${name} must be a whole number ≥ ${min}, got ${value}`);
  }
  if (o.killStep >= o.steps) throw new ClusterBenchError('BENCH_BAD_OPTION', `--kill-step must be below --steps (${o.steps}), got ${o.killStep}`);
  process.stdout.write(`bench --cluster: ${o.model} (${o.modelsDir}), ${o.runs} runs, ${o.jobs} jobs from ${PEOPLE.length} people, ${o.steps} steps, workers with 1 thread and 1 slot, lease ${o.leaseSeconds} s\n`);
  const load = () => `load ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`;
  // Every process here shares the machine's cores: a busy machine's figures are not this cluster's.
  process.stdout.write(`before: ${load()}\n`);

  let redis: LocalRedis | undefined;
  let gateway: ClusterDaemon | undefined;
  let client: AnimatorConnection | undefined;
  const workers: ClusterDaemon[] = [];
  const startWorker = async () => {
    const w = await startClusterDaemon({ role: 'worker', queueUrl: redis!.url, modelsDir: o.modelsDir, model: o.model, leaseSeconds: o.leaseSeconds });
    workers.push(w);
    return w;
  };
  const oneWorker: number[] = [];
  const twoWorkers: number[] = [];
  const failovers: Failover[] = [];
  try {
    redis = await startLocalRedis();
    gateway = await startClusterDaemon({ role: 'gateway', queueUrl: redis.url, modelsDir: o.modelsDir, model: o.model });
    client = connectAnimator(gateway.address!);
    for (let run = 1; run <= o.runs; run++) {
      // Exactly one worker: the survivor of the last run's failover, or a first one.
      while (workers.length > 1) await workers.pop()!.stop();
      if (workers.length === 0) await startWorker();
      await throughput(client, o, 1, 'warm'); // a fresh worker's first job pays for session warm-up
      oneWorker.push(await throughput(client, o, o.jobs, `1w-r${run}`));

      await startWorker();
      await throughput(client, o, 2, 'warm'); // two at once: one each, so both are warm
      twoWorkers.push(await throughput(client, o, o.jobs, `2w-r${run}`));

      const { figures, survivor } = await failover(client, o, [...workers]);
      failovers.push(figures);
      workers.splice(0, workers.length, survivor);
      process.stdout.write(
        `run ${run}: ${oneWorker.at(-1)!.toFixed(1)} clips/min with 1 worker, ${twoWorkers.at(-1)!.toFixed(1)} with 2; ` +
          `killed at step ${figures.killedAtStep}: restarted after ${fmtS(figures.toRestartedMs)}, clip after ${fmtS(figures.toClipMs)}\n`,
      );
    }
  } finally {
    client?.close();
    await Promise.all(workers.map((w) => w.kill9()));
    await gateway?.kill9();
    await redis?.stop();
  }

  const rows: Array<[string, string, string]> = [
    ['clips per minute, 1 worker', median(oneWorker).toFixed(1), `${o.jobs} jobs at once`],
    ['clips per minute, 2 workers', median(twoWorkers).toFixed(1), `${o.jobs} jobs at once`],
    ['ratio 2w / 1w', median(twoWorkers.map((v, i) => v / oneWorker[i]!)).toFixed(2), 'ideal 2.00 with a core per worker'],
    ['failover: kill -9 → "restarted"', fmtS(median(failovers.map((f) => f.toRestartedMs))), `lease ${o.leaseSeconds} s`],
    ['failover: kill -9 → its clip', fmtS(median(failovers.map((f) => f.toClipMs))), 'exactly one clip, one Done'],
  ];
  process.stdout.write(`after: ${load()}\n`);
  process.stdout.write(`\n${'figure'.padEnd(34)} ${'median'.padStart(10)}  note\n`);
  for (const [name, value, note] of rows) process.stdout.write(`${name.padEnd(34)} ${value.padStart(10)}  ${note}\n`);
}

const fmtS = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** The `--cluster` command line (bench.ts hands over everything but `--cluster`). */
export async function clusterBenchCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      jobs: { type: 'string' },
      steps: { type: 'string' },
      'kill-step': { type: 'string' },
      'lease-seconds': { type: 'string' },
      'models-dir': { type: 'string' },
      model: { type: 'string' },
      prompt: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return void process.stdout.write(USAGE);
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  await runClusterBench({
    runs: num(values.runs),
    jobs: num(values.jobs),
    steps: num(values.steps),
    killStep: num(values['kill-step']),
    leaseSeconds: num(values['lease-seconds']),
    modelsDir: values['models-dir'] === undefined ? undefined : path.resolve(values['models-dir']),
    model: values.model,
    prompt: values.prompt,
  });
}
