// The daemon's Prometheus metrics (issue #21, inference/metrics/): DaemonMetrics' arithmetic on hand-made events
// whose figures are known, its gauges read from sources at scrape time (a failing or hanging source reads NaN, the
// scrape still answers), the HTTP endpoint's answers (/metrics, /healthz, 404, 405), and a real daemon on loopback
// with metricsListen whose jobs are counted over HTTP, where observing a job never keeps it alive once nobody follows it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import net from 'node:net';
import { Job } from '../../inference/server/job.ts';
import type { JobSpec } from '../../inference/server/validate.ts';
import { DeadlineExceededError, RequestCancelledError } from '../../inference/errors.ts';
import { DaemonMetrics, SECONDS_BUCKETS, type DaemonMetricsSources } from '../../inference/metrics/registry.ts';
import type { MetricsSourceError } from '../../inference/metrics/errors.ts';
import { startMetricsServer } from '../../inference/metrics/server.ts';
import type { GenerateRequest } from '../../shared/rpc/types.ts';
import { collect, follow, startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';

// ---------------------------------------------------------------------------------------------------------------------
// Prometheus text, read into samples so tests assert numbers by name and labels.

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    const raw = m[3]!;
    samples.push({ name: m[1]!, labels, value: /^nan$/i.test(raw) ? Number.NaN : raw === '+Inf' ? Infinity : Number(raw) });
  }
  return samples;
}

/** The one sample with this name whose labels are exactly `labels`; undefined when none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

// ---------------------------------------------------------------------------------------------------------------------
// DaemonMetrics on hand-made events.

/** A Job needs only its request id for what metrics read. */
function handMadeJob(id: string): Job {
  return new Job({ requestId: id } as unknown as JobSpec);
}

const FIXED: DaemonMetricsSources = { queueDepth: () => 3, running: async () => 2, workers: () => 1 };

describe('DaemonMetrics', () => {
  it('records a done job: latency from admission, first preview from start, one step time per step', async () => {
    const job = handMadeJob('known-1');
    let t = job.createdAt; // the metrics' clock is Job's clock (performance.now); here it moves by hand
    const metrics = new DaemonMetrics({ sources: FIXED, defaultMetrics: false, now: () => t });
    metrics.observe(job);
    expect(job.listenerCount).toBe(0); // observing is not following

    t += 1500;
    job.state = 'running';
    job.startedAt = t;
    job.emit({ started: { totalSteps: 4 } });
    // Step 1's elapsed time includes text encoding: it is never a step time by itself.
    job.emit({ progress: { step: 1, totalSteps: 4, elapsedSeconds: 1, stage: 'denoise' } });
    t += 250;
    job.emit({ preview: { step: 1, totalSteps: 4 } });
    t += 100;
    job.emit({ preview: { step: 2, totalSteps: 4 } }); // a second preview: not a first one
    job.emit({ progress: { step: 2, totalSteps: 4, elapsedSeconds: 1.125, stage: 'denoise' } }); // 0.125 s (figures exact in binary)
    job.emit({ progress: { step: 3, totalSteps: 4, elapsedSeconds: 1.5, stage: 'denoise' } }); // 0.375 s
    job.emit({ progress: { step: 4, totalSteps: 4, elapsedSeconds: 1.5625, stage: 'denoise' } }); // 0.0625 s
    job.emit({ progress: { step: 4, totalSteps: 4, elapsedSeconds: 1.75, stage: 'encode' } });
    // The one step never timed (the first) is recorded at the Done's mean: 0.2 s.
    job.emit({ done: { steps: 4, timings: { perStepMs: 200 } } });
    t = job.createdAt + 4000;
    job.finish();

    const s = parsePrometheusText(await metrics.text());
    expect(value(s, 'animate_jobs_total', { outcome: 'done', code: '' })).toBe(1);
    expect(value(s, 'animate_job_latency_seconds_count')).toBe(1);
    expect(value(s, 'animate_job_latency_seconds_sum')).toBeCloseTo(4, 9);
    expect(value(s, 'animate_job_latency_seconds_bucket', { le: '2.5' })).toBe(0);
    expect(value(s, 'animate_job_latency_seconds_bucket', { le: '5' })).toBe(1);
    expect(value(s, 'animate_first_preview_seconds_count')).toBe(1);
    expect(value(s, 'animate_first_preview_seconds_sum')).toBeCloseTo(0.25, 9);
    expect(value(s, 'animate_denoise_step_seconds_count')).toBe(4);
    expect(value(s, 'animate_denoise_step_seconds_sum')).toBeCloseTo(0.125 + 0.375 + 0.0625 + 0.2, 9);
    // Buckets are cumulative: 0.0625 ≤ 0.1; 0.125 and 0.2 ≤ 0.25; 0.375 ≤ 0.5.
    expect(value(s, 'animate_denoise_step_seconds_bucket', { le: '0.05' })).toBe(0);
    expect(value(s, 'animate_denoise_step_seconds_bucket', { le: '0.1' })).toBe(1);
    expect(value(s, 'animate_denoise_step_seconds_bucket', { le: '0.25' })).toBe(3);
    expect(value(s, 'animate_denoise_step_seconds_bucket', { le: '0.5' })).toBe(4);
    expect(value(s, 'animate_denoise_step_seconds_bucket', { le: '+Inf' })).toBe(4);
    // Every bound of SECONDS_BUCKETS is served, plus +Inf.
    expect(s.filter((x) => x.name === 'animate_denoise_step_seconds_bucket')).toHaveLength(SECONDS_BUCKETS.length + 1);
  });

  it('counts cancelled and failed jobs with their codes, and a restarted attempt never gives a negative step', async () => {
    let t = 0;
    const metrics = new DaemonMetrics({ sources: FIXED, defaultMetrics: false, now: () => t });

    const cancelled = handMadeJob('c-1');
    t = cancelled.createdAt;
    metrics.observe(cancelled);
    t += 500;
    cancelled.finish(new RequestCancelledError('changed my mind'));

    const late = handMadeJob('d-1');
    t = late.createdAt;
    metrics.observe(late);
    late.state = 'running';
    late.startedAt = t;
    late.emit({ started: {} });
    late.emit({ progress: { step: 1, elapsedSeconds: 1, stage: 'denoise' } });
    late.emit({ progress: { step: 2, elapsedSeconds: 1.5, stage: 'denoise' } }); // 0.5 s
    // Another worker takes the job up (a cluster): its steps count from 1 and its clock from 0 again.
    late.emit({ progress: { step: 2, elapsedSeconds: 0, stage: 'restarted' } });
    late.emit({ progress: { step: 1, elapsedSeconds: 0.7, stage: 'denoise' } });
    late.emit({ progress: { step: 3, elapsedSeconds: 1.1, stage: 'denoise' } }); // two steps of 0.2 s
    late.emit({ done: { steps: 3, timings: { perStepMs: 999 } } }); // 3 steps timed already: no mean added
    t += 2000;
    late.finish(new DeadlineExceededError('the deadline passed'));

    const s = parsePrometheusText(await metrics.text());
    expect(value(s, 'animate_jobs_total', { outcome: 'cancelled', code: 'CANCELLED' })).toBe(1);
    expect(value(s, 'animate_jobs_total', { outcome: 'failed', code: 'DEADLINE_EXCEEDED' })).toBe(1);
    expect(value(s, 'animate_jobs_total', { outcome: 'done', code: '' })).toBe(0); // shown at 0 from the start
    expect(value(s, 'animate_job_latency_seconds_count')).toBe(2);
    expect(value(s, 'animate_job_latency_seconds_sum')).toBeCloseTo(2.5, 9);
    expect(value(s, 'animate_denoise_step_seconds_count')).toBe(3);
    expect(value(s, 'animate_denoise_step_seconds_sum')).toBeCloseTo(0.5 + 0.2 + 0.2, 9);
    expect(value(s, 'animate_first_preview_seconds_count')).toBe(0);
  });

  it('a job already started when observed takes its start from the job', async () => {
    const job = handMadeJob('early');
    let t = job.createdAt;
    job.state = 'running';
    job.startedAt = t + 100;
    const metrics = new DaemonMetrics({ sources: FIXED, defaultMetrics: false, now: () => t });
    t += 300;
    metrics.observe(job);
    job.emit({ preview: { step: 1 } });
    job.finish();
    const s = parsePrometheusText(await metrics.text());
    expect(value(s, 'animate_first_preview_seconds_sum')).toBeCloseTo(0.2, 9);
    expect(value(s, 'animate_job_latency_seconds_sum')).toBeCloseTo(0.3, 9);
  });

  it('gauges read their sources at each scrape, async ones included', async () => {
    let depth = 5;
    const metrics = new DaemonMetrics({ sources: { queueDepth: () => depth, running: async () => 2, workers: () => 1 }, defaultMetrics: false });
    let s = parsePrometheusText(await metrics.text());
    expect([value(s, 'animate_queue_depth'), value(s, 'animate_running_jobs'), value(s, 'animate_workers')]).toEqual([5, 2, 1]);
    depth = 0;
    s = parsePrometheusText(await metrics.text());
    expect(value(s, 'animate_queue_depth')).toBe(0);
  });

  it('a failing or hanging source reads NaN, is reported with its code, and the scrape still answers', async () => {
    const errors: MetricsSourceError[] = [];
    const metrics = new DaemonMetrics({
      sources: { queueDepth: () => { throw new Error('redis is gone'); }, running: () => new Promise<number>(() => {}), workers: () => 1 },
      sourceTimeoutMs: 100,
      defaultMetrics: false,
      onSourceError: (e) => errors.push(e),
    });
    const t0 = performance.now();
    const s = parsePrometheusText(await metrics.text());
    const ms = performance.now() - t0;
    console.log(`scrape with a hanging source: ${ms.toFixed(0)} ms (source timeout 100 ms)`);
    expect(ms).toBeLessThan(5000);
    expect(value(s, 'animate_queue_depth')).toBeNaN();
    expect(value(s, 'animate_running_jobs')).toBeNaN();
    expect(value(s, 'animate_workers')).toBe(1);
    expect(errors.map((e) => [e.code, e.source]).sort()).toEqual([['METRICS_SOURCE_FAILED', 'queueDepth'], ['METRICS_SOURCE_FAILED', 'running']]);
    expect(errors.find((e) => e.source === 'queueDepth')!.message).toMatch(/redis is gone/);
    expect(errors.find((e) => e.source === 'running')!.message).toMatch(/no answer within 100 ms/);
  });

  it('each instance has its own registry: two daemons in one process count only their own jobs, with process metrics', async () => {
    const a = new DaemonMetrics({ sources: FIXED });
    const b = new DaemonMetrics({ sources: FIXED });
    const job = handMadeJob('only-a');
    a.observe(job);
    job.finish();
    const sa = parsePrometheusText(await a.text());
    const sb = parsePrometheusText(await b.text());
    expect(value(sa, 'animate_jobs_total', { outcome: 'done', code: '' })).toBe(1);
    expect(value(sb, 'animate_jobs_total', { outcome: 'done', code: '' })).toBe(0);
    expect(value(sa, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(sb, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(a.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// The HTTP endpoint on its own.

/** Sends raw bytes and returns what the server answered until it closed the connection. */
function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let got = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => (got += d));
    socket.on('end', () => resolve(got));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => reject(new Error(`no close within 10 s; got ${JSON.stringify(got.slice(0, 200))}`)));
  });
}

describe('metrics server', () => {
  it('answers /healthz 503 when the check says so or fails, and refuses a bad address naming metricsListen', async () => {
    let healthy: boolean | 'throw' = false;
    const metrics = new DaemonMetrics({ sources: FIXED, defaultMetrics: false });
    const srv = await startMetricsServer({ listen: '127.0.0.1:0', metrics, healthy: () => { if (healthy === 'throw') throw new Error('x'); return healthy; } });
    try {
      const base = `http://${srv.address}`;
      let res = await fetch(`${base}/healthz`);
      expect([res.status, await res.text()]).toEqual([503, 'not serving\n']);
      healthy = true;
      res = await fetch(`${base}/healthz?probe=1`);
      expect([res.status, await res.text()]).toEqual([200, 'ok\n']);
      healthy = 'throw';
      expect((await fetch(`${base}/healthz`)).status).toBe(503);
      // A request that announces a body gets its answer and its connection closed; the body is never read.
      const answer = await rawHttp(srv.port, 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc');
      expect(answer).toMatch(/^HTTP\/1\.1 405 /);
      expect(answer).toMatch(/\r\nallow: GET\r\n/i);
      expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    } finally {
      await srv.close();
    }
    await expect(startMetricsServer({ listen: 'not-an-address', metrics })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^metricsListen: expected HOST:PORT/) });
    const busy = await startMetricsServer({ listen: '127.0.0.1:0', metrics });
    try {
      await expect(startMetricsServer({ listen: busy.address, metrics })).rejects.toMatchObject({ code: 'ADDRESS_IN_USE', message: expect.stringMatching(/^cannot listen on 127\.0\.0\.1:\d+ \(ANIMATE_METRICS_LISTEN \/ --metrics-listen\): the address is already in use; stop what uses it, or choose another address with ANIMATE_METRICS_LISTEN \(or --metrics-listen\)\.$/) });
    } finally {
      await busy.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// A real daemon on loopback, scraped over HTTP.

describe('a daemon with metricsListen', () => {
  let fx: FixtureDaemon;
  let base: string;
  // ~30 ms per denoiser call: a 40-step job lasts long enough to be scraped and cancelled mid-way.
  beforeAll(async () => {
    fx = await startFixtureDaemon({ fixture: { burnMs: 30 }, daemon: { metricsListen: '127.0.0.1:0' } });
    base = `http://${fx.daemon.metricsAddress}`;
  });
  afterAll(() => fx?.close());

  async function scrape(): Promise<Sample[]> {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(await res.text());
  }

  const req = (user: string, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({ prompt: 'a red ball', seed: 1, steps: 4, requester: { userId: user, platform: 'DISCORD' }, ...extra });

  it('counts 3 jobs (one cancelled) by outcome and code, times them, and its gauges read the scheduler', async () => {
    expect(fx.daemon.metricsAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    let s = await scrape();
    expect([value(s, 'animate_queue_depth'), value(s, 'animate_running_jobs'), value(s, 'animate_workers')]).toEqual([0, 0, 1]);

    const long = follow(fx.client.generate(req('a', { requestId: 'metrics-long', steps: 40, preview: { disabled: true } })));
    await long.until((e) => (e.progress?.step ?? 0) >= 2);
    const waiting = follow(fx.client.generate(req('b', { requestId: 'metrics-waiting' })));
    await waiting.until((e) => !!e.queued);
    s = await scrape();
    expect([value(s, 'animate_queue_depth'), value(s, 'animate_running_jobs'), value(s, 'animate_workers')]).toEqual([1, 1, 1]);

    expect(await fx.client.cancel('metrics-long', 'changed my mind')).toEqual({ cancelled: true, state: 'running' });
    const cancelled = await long.settled;
    expect(cancelled.error?.code).toBe(status.CANCELLED);
    const w = await waiting.settled;
    expect(w.error).toBeUndefined();
    const third = await collect(fx.client.generate(req('c', { requestId: 'metrics-third' })));
    expect(third.at(-1)!.done).toBeTruthy();

    s = await scrape();
    expect(value(s, 'animate_jobs_total', { outcome: 'done', code: '' })).toBe(2);
    expect(value(s, 'animate_jobs_total', { outcome: 'cancelled', code: 'CANCELLED' })).toBe(1);
    expect(s.filter((x) => x.name === 'animate_jobs_total').reduce((n, x) => n + x.value, 0)).toBe(3);
    expect(value(s, 'animate_job_latency_seconds_count')).toBe(3);
    // Previews were on for the two done jobs only; each sent at least one.
    expect(w.events.some((e) => e.preview) && third.some((e) => e.preview)).toBe(true);
    expect(value(s, 'animate_first_preview_seconds_count')).toBe(2);
    // A done job records each of its steps; the cancelled one each step after its first that it reached.
    const lastStep = Math.max(...cancelled.events.map((e) => e.progress?.step ?? 0));
    expect(value(s, 'animate_denoise_step_seconds_count')).toBe(4 + 4 + (lastStep - 1));
    const stepMean = value(s, 'animate_denoise_step_seconds_sum')! / value(s, 'animate_denoise_step_seconds_count')!;
    const latencyMean = value(s, 'animate_job_latency_seconds_sum')! / 3;
    console.log(`denoise step mean ${(stepMean * 1000).toFixed(1)} ms (burn 30 ms per denoiser call); job latency mean ${latencyMean.toFixed(2)} s; cancelled at step ${lastStep}`);
    expect(stepMean).toBeGreaterThan(0.02); // each step burns at least ~30 ms of the fixture's denoiser
    expect([value(s, 'animate_queue_depth'), value(s, 'animate_running_jobs')]).toEqual([0, 0]);
    expect(value(s, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('a client that goes away still cancels its job with metrics on (observing is not following)', async () => {
    const before = value(await scrape(), 'animate_jobs_total', { outcome: 'cancelled', code: 'CANCELLED' }) ?? 0;
    const controller = new AbortController();
    const gone = follow(fx.client.generate(req('a', { requestId: 'metrics-gone', steps: 40 }), { signal: controller.signal }));
    await gone.until((e) => (e.progress?.step ?? 0) >= 1);
    controller.abort();
    await gone.settled;
    // The daemon notices, cancels the job and frees the slot: the next job runs.
    const after = await collect(fx.client.generate(req('b', { steps: 2 })));
    expect(after.at(-1)!.done).toBeTruthy();
    expect(await fx.client.cancel('metrics-gone')).toEqual({ cancelled: false, state: 'finished' });
    const s = await scrape();
    expect(value(s, 'animate_jobs_total', { outcome: 'cancelled', code: 'CANCELLED' })).toBe(before + 1);
    expect(value(s, 'animate_jobs_total', { outcome: 'done', code: '' })).toBe(3);
  });

  it("a stream that closes just before its deadline is the deadline: failed DEADLINE_EXCEEDED, not cancelled", async () => {
    // The client's own deadline timer fires a little before the daemon's, and its RST reads as a plain cancel; here the
    // client closes 300 ms before a 1 s deadline (a 50-step job lasts 1.5 s or more), as that RST would (a CI run once recorded such a job as cancelled).
    const s0 = await scrape();
    const failedBefore = value(s0, 'animate_jobs_total', { outcome: 'failed', code: 'DEADLINE_EXCEEDED' }) ?? 0;
    const cancelledBefore = value(s0, 'animate_jobs_total', { outcome: 'cancelled', code: 'CANCELLED' }) ?? 0;
    const controller = new AbortController();
    const deadlineMs = 1_000;
    const sentAt = Date.now();
    const late = follow(fx.client.generate(req('a', { requestId: 'metrics-at-deadline', steps: 50, preview: { disabled: true } }), { deadline: new Date(sentAt + deadlineMs), signal: controller.signal }));
    await late.until((e) => (e.progress?.step ?? 0) >= 1);
    await new Promise((r) => setTimeout(r, Math.max(0, sentAt + deadlineMs - 300 - Date.now())));
    controller.abort();
    await late.settled;
    const after = await collect(fx.client.generate(req('b', { steps: 2 })));
    expect(after.at(-1)!.done).toBeTruthy();
    const s = await scrape();
    expect(value(s, 'animate_jobs_total', { outcome: 'failed', code: 'DEADLINE_EXCEEDED' })).toBe(failedBefore + 1);
    expect(value(s, 'animate_jobs_total', { outcome: 'cancelled', code: 'CANCELLED' }) ?? 0).toBe(cancelledBefore);
  });

  it('serves /healthz 200, refuses POST with 405 and unknown paths with 404', async () => {
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    const missing = await fetch(`${base}/metrics/extra`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/GET \/metrics and GET \/healthz/);
  });
});
