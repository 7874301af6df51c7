// Issue #21, "metrics a cluster needs", scraped over HTTP from daemons running as processes of their own: a gateway and
// a worker, each with --metrics-listen 127.0.0.1:0. The gateway counts the jobs it relays (the worker runs them but is
// not where a person's job ends), so after three jobs, one of them cancelled by its caller, its /metrics must say
// 2 done and 1 cancelled (code CANCELLED), with histograms that counted each job, step and first preview; its gauges
// read the cluster's Redis (a job waiting behind the busy worker is queue depth 1, running 1). /healthz follows the
// gateway's link to Redis: 200 while it serves, 503 once Redis is killed.
import { afterAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { collectSettled, follow } from '../helpers/fixture-daemon.ts';
import { metricsAddressOf, startTestCluster, summarize, waitFor, within, type TestCluster } from '../helpers/cluster-processes.ts';
import type { GenerateEvent__Output, GenerateRequest } from '../../shared/rpc/types.ts';

/** About 100 ms of burn per denoiser call: the long job holds the one worker slot for several seconds. */
const LONG_STEPS = 60;
const SLOW = { name: 'slow', burnMs: 100, limits: { max_steps: LONG_STEPS } };
const SHORT_STEPS = 2;
/** How long gauges may take to show a change: the worker's heartbeat (busy) is every 2 s, scrapes cache 0.5 s. */
const GAUGE_SETTLE_MS = 10_000;
/** How long /healthz may take to say 503 after Redis died (the link notices a closed connection at once; generous). */
const HEALTH_FLIP_MS = 15_000;
/** Daemons whose metrics address is read from their info-level log line. */
const WITH_METRICS = { metricsListen: '127.0.0.1:0', env: { ANIMATE_LOG_LEVEL: 'info' } } as const;

const request = (requestId: string, steps: number, previews = false): GenerateRequest => ({
  requestId,
  prompt: 'a purple moon rises over the hills',
  seed: 21,
  steps,
  frames: 5,
  width: 32,
  height: 32,
  preview: previews ? {} : { disabled: true },
  requester: { userId: 'ann', platform: 'PLAYGROUND' },
});

interface Scrape {
  status: number;
  text: string;
}

async function get(address: string, path: '/metrics' | '/healthz'): Promise<Scrape> {
  const res = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

/**
 * The value of the one sample of `name` whose labels are exactly `labels` (none: a sample without labels). Throws
 * naming what was there when there is no such sample, so a failure shows the exposition's lines for that metric.
 */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const lines = text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  for (const line of lines) {
    const m = /^([^\s{]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    const same = Object.keys(found).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => found[k] === v);
    if (same) return Number(m[3]);
  }
  throw new Error(`no sample ${name}${JSON.stringify(labels)}; the exposition has:\n${lines.join('\n') || '(nothing of that name)'}`);
}

const denoiseSteps = (events: GenerateEvent__Output[]) => events.filter((e) => e.progress?.stage === 'denoise').length;

let cluster: TestCluster | undefined;
afterAll(async () => {
  await cluster?.close();
});

describe('metrics of a cluster gateway and worker', () => {
  it('gauges while a job waits; jobs by outcome and histogram counts after 3 jobs; /healthz 503 once Redis is gone', async () => {
    cluster = await startTestCluster({ fixture: SLOW });
    const c = cluster;
    const [gateway, worker] = await Promise.all([c.start('gateway', WITH_METRICS), c.start('worker', WITH_METRICS)]);
    const [gm, wm] = await Promise.all([metricsAddressOf(gateway), metricsAddressOf(worker)]);
    console.log(`metrics: gateway on ${gm}, worker on ${wm}`);
    const client = c.connect(gateway);

    expect((await get(gm, '/healthz')).status).toBe(200);
    expect((await get(wm, '/healthz')).status).toBe(200);
    const idle = await get(gm, '/metrics');
    expect(idle.status).toBe(200);
    expect(sample(idle.text, 'animate_workers')).toBe(1);
    expect(sample(idle.text, 'animate_queue_depth')).toBe(0);
    expect(sample(idle.text, 'animate_running_jobs')).toBe(0);
    expect(sample(idle.text, 'animate_job_latency_seconds_count')).toBe(0);

    // Job 1 holds the worker's only slot; job 2 waits behind it.
    const abort = new AbortController();
    const long = follow(client.generate(request('metrics-long', LONG_STEPS), { signal: abort.signal }));
    await within(long.until((e) => e.progress?.stage === 'denoise' && e.progress.step >= 2), 30_000, 'the long job to be denoising');
    const waiting = follow(client.generate(request('metrics-waiting', SHORT_STEPS)));
    await within(waiting.until((e) => !!e.queued), 10_000, 'the second job to be queued');
    let busy: Scrape | undefined;
    const busyMs = await waitFor(async () => {
      busy = await get(gm, '/metrics');
      return sample(busy.text, 'animate_queue_depth') === 1 && sample(busy.text, 'animate_running_jobs') === 1;
    }, 'the gateway to show queue depth 1 and 1 running', GAUGE_SETTLE_MS, 250).catch((err: Error) => {
      throw new Error(`${err.message}; last scrape: queue_depth ${busy && sample(busy.text, 'animate_queue_depth')}, running ${busy && sample(busy.text, 'animate_running_jobs')}`);
    });
    console.log(`gateway gauges showed the waiting job after ${busyMs} ms`);
    expect(sample(busy!.text, 'animate_workers')).toBe(1);
    expect(long.events.some((e) => e.done), 'the long job was still running when scraped').toBe(false);
    // The worker's own figure: the one job it runs.
    await waitFor(async () => sample((await get(wm, '/metrics')).text, 'animate_running_jobs') === 1, 'the worker to show 1 running', GAUGE_SETTLE_MS, 250);
    const workerBusy = (await get(wm, '/metrics')).text;
    console.log(`worker gauges while busy: running ${sample(workerBusy, 'animate_running_jobs')}, queue_depth ${sample(workerBusy, 'animate_queue_depth')}, workers ${sample(workerBusy, 'animate_workers')}`);

    // The caller of job 1 goes away: cancelled; job 2 then runs; job 3 (with previews) after it.
    const stepsSeen = denoiseSteps(long.events);
    abort.abort();
    expect((await within(long.settled, 5_000, 'the long stream to end')).error?.code).toBe(status.CANCELLED);
    const second = await within(waiting.settled, 60_000, 'the waiting job to finish');
    expect(second.error, `${second.error?.code} ${second.error?.details}`).toBeUndefined();
    const third = await within(collectSettled(client.generate(request('metrics-previews', SHORT_STEPS, true))), 60_000, 'the third job');
    expect(third.error, `${third.error?.code} ${third.error?.details}`).toBeUndefined();
    expect([summarize(second.events).done, summarize(third.events).done]).toEqual([1, 1]);
    expect(third.events.filter((e) => e.preview).length, 'the third job sent previews').toBeGreaterThan(0);

    let after: Scrape | undefined;
    // The cancelled job's end reaches the gateway through Redis, and the heartbeat clears "busy": wait for both.
    await waitFor(async () => {
      after = await get(gm, '/metrics');
      return sample(after.text, 'animate_job_latency_seconds_count') === 3 && sample(after.text, 'animate_running_jobs') === 0;
    }, 'the gateway to count 3 ended jobs and 0 running', GAUGE_SETTLE_MS, 250).catch((err: Error) => {
      throw new Error(`${err.message}; last scrape:\n${after?.text.split('\n').filter((l) => l.startsWith('animate_')).join('\n')}`);
    });
    const t = after!.text;
    console.log(t.split('\n').filter((l) => /^animate_(jobs_total|queue_depth|running_jobs|workers|\w+_count|\w+_sum)/.test(l)).join('\n'));
    expect(sample(t, 'animate_jobs_total', { outcome: 'done', code: '' })).toBe(2);
    expect(sample(t, 'animate_jobs_total', { outcome: 'cancelled', code: 'CANCELLED' })).toBe(1);
    expect(t, 'no job failed').not.toMatch(/^animate_jobs_total\{[^}]*outcome="failed"/m);
    expect(sample(t, 'animate_workers')).toBe(1);
    expect(sample(t, 'animate_queue_depth')).toBe(0);
    expect(sample(t, 'animate_job_latency_seconds_bucket', { le: '+Inf' })).toBe(3);
    expect(sample(t, 'animate_job_latency_seconds_sum')).toBeGreaterThan(0);
    expect(sample(t, 'animate_first_preview_seconds_count'), 'only the third job had previews').toBe(1);
    // Two done jobs record all their steps (2 each); the cancelled one the differences of the steps the gateway relayed
    // (at least those its caller saw, less one), never more than it was asked for.
    const steps = sample(t, 'animate_denoise_step_seconds_count');
    console.log(`denoise steps recorded ${steps}: 2 × ${SHORT_STEPS} done + the cancelled job's (its caller saw ${stepsSeen})`);
    expect(steps).toBeGreaterThanOrEqual(2 * SHORT_STEPS + stepsSeen - 1);
    expect(steps).toBeLessThanOrEqual(2 * SHORT_STEPS + LONG_STEPS);
    expect(sample(t, 'animate_denoise_step_seconds_sum')).toBeGreaterThan(0);

    // Redis dies: the gateway's /healthz turns 503; /metrics still answers (the gauges read from Redis are NaN).
    c.redis.kill('SIGKILL');
    const killedAt = performance.now();
    const flipMs = await waitFor(async () => (await get(gm, '/healthz')).status === 503, "the gateway's /healthz to say 503", HEALTH_FLIP_MS, 200);
    // The gauges' reading is cached for half a second, and a source gets 2 s to answer before it reads NaN.
    let down: Scrape | undefined;
    const nanMs = await waitFor(async () => {
      down = await get(gm, '/metrics');
      return down.status === 200 && Number.isNaN(sample(down.text, 'animate_queue_depth'));
    }, "the gateway's queue depth to read NaN without Redis", HEALTH_FLIP_MS, 200).catch((err: Error) => {
      throw new Error(`${err.message}; last scrape ${down?.status}: queue_depth ${down && sample(down.text, 'animate_queue_depth')}`);
    });
    const workerHealth = (await get(wm, '/healthz')).status;
    console.log(`gateway /healthz 503 ${flipMs} ms after Redis was killed; its queue_depth NaN after ${nanMs} ms more; worker /healthz ${workerHealth}`);
    expect(sample(down!.text, 'animate_jobs_total', { outcome: 'done', code: '' }), 'counters survive').toBe(2);
  }, 120_000);
});
