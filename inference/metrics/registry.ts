// The metrics one daemon serves on /metrics (issue #21: what a cluster needs to be watched and scaled). Each
// DaemonMetrics has a prom-client Registry of its own, never the global default one: tests and tools run several
// daemons in one process, and each must report only its own jobs.
//
// Gauges are read from injected sources when scraped (collect callbacks), not pushed: the single-process daemon reads
// its FairScheduler's counts, a cluster daemon reads Redis, so a source may be async. A source that fails or does not
// answer within sourceTimeoutMs reads NaN for that scrape, so a lost Redis never fails or hangs the scrape (the
// counters, histograms and process metrics still come).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Job } from '../server/job.ts';
import { MetricsSourceError } from './errors.ts';
import { DaemonErrorCode } from '../../shared/wire/error-codes.ts';
import { followJob, type JobOutcome } from './job-follower.ts';

/** Reads one gauge's current value, when scraped. */
export type GaugeSource = () => number | Promise<number>;

export interface DaemonMetricsSources {
  /** Jobs waiting to start (animate_queue_depth). */
  queueDepth: GaugeSource;
  /** Jobs running now (animate_running_jobs). */
  running: GaugeSource;
  /** Workers serving (animate_workers): 1 for a single-process daemon. */
  workers: GaugeSource;
}

export interface DaemonMetricsOptions {
  sources: DaemonMetricsSources;
  /** Longest wait for one source at a scrape, ms, before its gauge reads NaN. Default 2000. */
  sourceTimeoutMs?: number;
  /** Register prom-client's default process and Node.js metrics on this registry. Default true. */
  defaultMetrics?: boolean;
  /** Clock in ms; must be the one Job uses (performance.now). Default performance.now. */
  now?: () => number;
  /** Told when a source fails or times out (the daemon logs it). Default: nothing. */
  onSourceError?: (error: MetricsSourceError) => void;
}

const DEFAULTS = {
  sourceTimeoutMs: 2000,
  defaultMetrics: true,
  now: () => performance.now(),
  onSourceError: () => {},
} satisfies Omit<Required<DaemonMetricsOptions>, 'sources'>;

/**
 * Bucket bounds in seconds shared by the three histograms, 10 ms to 10 min in 1-2.5-5 steps per decade. One
 * denoising step of tiny-world on a laptop CPU takes tens of ms, a 5B-class model's step on a GPU about a second and
 * on a CPU tens of seconds; a first preview comes a step or a few after the start; a whole job takes under a second
 * on tiny-world and minutes when people queue behind a big model. 15 buckets cover all of it with every quantile
 * within a factor of 2.5, at 17 series per histogram.
 */
export const SECONDS_BUCKETS: readonly number[] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export class DaemonMetrics {
  /** The registry to serve (server.ts): these metrics and, by default, the process ones. */
  readonly registry = new Registry();
  private readonly jobsTotal: Counter<'outcome' | 'code'>;
  private readonly refusalsTotal: Counter<'reason'>;
  private readonly latency: Histogram;
  private readonly firstPreview: Histogram;
  private readonly denoiseStep: Histogram;
  private readonly now: () => number;

  constructor(options: DaemonMetricsOptions) {
    const settings = { ...DEFAULTS, ...stripUndefined(options) };
    this.now = settings.now;
    const registers = [this.registry];
    const gauge = (name: string, help: string, source: keyof DaemonMetricsSources) => {
      const g: Gauge = new Gauge({
        name,
        help,
        registers,
        collect: async () => g.set(await readSource(source, options.sources[source], settings.sourceTimeoutMs, settings.onSourceError)),
      });
    };
    gauge('animate_queue_depth', 'Jobs waiting to start.', 'queueDepth');
    gauge('animate_running_jobs', 'Jobs running now.', 'running');
    gauge('animate_workers', 'Workers serving jobs (1 for a single-process daemon).', 'workers');
    this.jobsTotal = new Counter({
      name: 'animate_jobs_total',
      help: 'Jobs ended, by outcome (done, failed, cancelled) and error code (empty when done).',
      labelNames: ['outcome', 'code'],
      registers,
    });
    // Shown at 0 from the start, so rate() has a series before the first job ends.
    this.jobsTotal.inc({ outcome: 'done', code: '' }, 0);
    // Requests refused before admission by the daemon's policy (issue #25): reason "blocklist" for the prompt policy
    // (inference/policy/); other checks add their own reason. Shown at 0 from the start, as jobs_total is.
    this.refusalsTotal = new Counter({ name: 'animate_refusals_total', help: 'Requests refused by the daemon\'s content policy, by reason (blocklist: a blocked term in the prompt or negative prompt; safety: a clip withheld by the output safety check).', labelNames: ['reason'], registers });
    this.refusalsTotal.inc({ reason: 'blocklist' }, 0);
    // reason "safety": a clip the output safety check withheld (inference/safety/), counted where its job ends (below).
    this.refusalsTotal.inc({ reason: 'safety' }, 0);
    const histogram = (name: string, help: string) => new Histogram({ name, help, buckets: [...SECONDS_BUCKETS], registers });
    this.latency = histogram('animate_job_latency_seconds', 'Seconds from a job\'s admission to its end (waiting included), whatever the outcome.');
    this.firstPreview = histogram('animate_first_preview_seconds', 'Seconds from a job\'s start to its first preview.');
    this.denoiseStep = histogram('animate_denoise_step_seconds', 'Seconds one denoising step took.');
    if (settings.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Follows one job from now to its end (call it at admission); it is not a reader of the job (job-follower.ts). */
  observe(job: Job): void {
    followJob(
      job,
      {
        stepSeconds: (s) => this.denoiseStep.observe(s),
        firstPreviewSeconds: (s) => this.firstPreview.observe(s),
        ended: (outcome: JobOutcome, code: string, s: number) => {
          this.jobsTotal.inc({ outcome, code });
          // Counted from the job's code, so a cluster gateway counts the withheld clips its workers' jobs end with.
          if (code === DaemonErrorCode.OutputWithheld) this.refusalsTotal.inc({ reason: 'safety' });
          this.latency.observe(s);
        },
      },
      this.now,
    );
  }

  /** Counts one refused request (animate_refusals_total{reason}). */
  refused(reason: string): void {
    this.refusalsTotal.inc({ reason });
  }

  /** The text exposition of every metric (what GET /metrics serves). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of text(). */
  get contentType(): string {
    return this.registry.contentType;
  }
}

async function readSource(
  name: keyof DaemonMetricsSources,
  source: GaugeSource,
  timeoutMs: number,
  onError: (error: MetricsSourceError) => void,
): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const value = await Promise.race([
      Promise.resolve().then(source),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new MetricsSourceError(name, `no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    if (typeof value !== 'number' || Number.isNaN(value)) throw new MetricsSourceError(name, `gave ${String(value)}, not a number`);
    return value;
  } catch (err) {
    onError(err instanceof MetricsSourceError ? err : new MetricsSourceError(name, err instanceof Error ? err.message : String(err), { cause: err }));
    return Number.NaN;
  } finally {
    clearTimeout(timer);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
