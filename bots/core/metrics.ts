// The bots' Prometheus metrics (issue #24): how the chat side of the product is doing, next to the daemon's
// (inference/metrics/). One BotMetrics per bot core, on a prom-client Registry of its own, never the global one:
// tests run several cores in one process, and `npm start` serves this registry merged with its daemon's on one
// /metrics (app/metrics.ts). Observed by the core (job-launch.ts, job-runner.ts) and the adapters (429s).
//   animate_bot_jobs_total{platform, outcome}      jobs ended: delivered, failed, cancelled
//   animate_bot_ack_seconds{platform}              the request arriving → its first reply (the job accepted)
//   animate_bot_first_preview_seconds{platform}    the request arriving → its first preview from the daemon
//   animate_bot_upload_failures_total{platform}    a finished clip the platform would not take
//   animate_bot_rate_limited_total{platform}       429s from the platform's API
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { PLATFORM_NAMES, type PlatformName } from '../../shared/wire/platforms.ts';
import type { JobOutcome } from './jobs.ts';

export interface BotMetricsOptions {
  /**
   * Register prom-client's process and Node.js metrics here too. Default false: collectDefaultMetrics starts an
   * event-loop-delay histogram and a GC observer that live as long as the process, one pair per call, and a bot core
   * is made per plugin instance and per test. Only a process that serves this registry alone on /metrics turns it on
   * (bots/core/standalone.ts; app/start.ts when no embedded daemon's registry carries them).
   */
  defaultMetrics?: boolean;
}

const DEFAULTS = { defaultMetrics: false } satisfies Required<BotMetricsOptions>;

/**
 * Seconds to the first reply: platforms want an answer fast (Discord's interaction must be acknowledged within 3 s,
 * Slack's within 3 s), so the buckets are fine below a second and stop at 10 s.
 */
export const ACK_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds to the first preview: a queue wait included, from tens of ms (tiny-world, idle) to minutes (a big model, busy). */
export const PREVIEW_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export type BotJobOutcome = JobOutcome['status'];
const OUTCOMES: readonly BotJobOutcome[] = ['delivered', 'failed', 'cancelled'];

export class BotMetrics {
  readonly registry = new Registry();
  private readonly jobs: Counter<'platform' | 'outcome'>;
  private readonly ack: Histogram<'platform'>;
  private readonly firstPreview: Histogram<'platform'>;
  private readonly uploadFailures: Counter<'platform'>;
  private readonly rateLimits: Counter<'platform'>;

  constructor(options: BotMetricsOptions = {}) {
    const settings = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    const registers = [this.registry];
    this.jobs = new Counter({ name: 'animate_bot_jobs_total', help: 'Bot jobs ended, by platform and outcome (delivered, failed, cancelled).', labelNames: ['platform', 'outcome'], registers });
    this.ack = new Histogram({ name: 'animate_bot_ack_seconds', help: 'Seconds from a request arriving at the bot core to its first reply (the job shown as accepted).', labelNames: ['platform'], buckets: [...ACK_BUCKETS], registers });
    this.firstPreview = new Histogram({ name: 'animate_bot_first_preview_seconds', help: 'Seconds from a request arriving at the bot core to its first preview from the daemon (queue wait included).', labelNames: ['platform'], buckets: [...PREVIEW_BUCKETS], registers });
    this.uploadFailures = new Counter({ name: 'animate_bot_upload_failures_total', help: 'Finished clips that could not be posted to the platform.', labelNames: ['platform'], registers });
    this.rateLimits = new Counter({ name: 'animate_bot_rate_limited_total', help: 'Requests the platform API answered 429 (rate limited).', labelNames: ['platform'], registers });
    // Every series at 0 from the start, so rate() and alerts have a series before the first event.
    for (const platform of PLATFORM_NAMES) {
      for (const outcome of OUTCOMES) this.jobs.inc({ platform, outcome }, 0);
      this.uploadFailures.inc({ platform }, 0);
      this.rateLimits.inc({ platform }, 0);
    }
    if (settings.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  jobEnded(platform: PlatformName, outcome: BotJobOutcome): void {
    this.jobs.inc({ platform, outcome });
  }

  acknowledged(platform: PlatformName, seconds: number): void {
    this.ack.observe({ platform }, Math.max(0, seconds));
  }

  firstPreviewShown(platform: PlatformName, seconds: number): void {
    this.firstPreview.observe({ platform }, Math.max(0, seconds));
  }

  uploadFailed(platform: PlatformName): void {
    this.uploadFailures.inc({ platform });
  }

  rateLimited(platform: PlatformName): void {
    this.rateLimits.inc({ platform });
  }

  /** The text exposition (what GET /metrics serves). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
