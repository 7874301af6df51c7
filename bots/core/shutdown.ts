// The core's shutdown, in the order that keeps every person informed: no new requests; the people still waiting
// (not started) told at once to send again; the running jobs given up to `drainMs` to deliver; whatever still runs
// then stopped with a message; a second close({ drainMs: 0 }) (a second Ctrl-C) cuts the drain short.
import type { CloseOptions, CloseSummary } from './api.ts';
import type { Clock } from './clock.ts';
import { DaemonUnavailableError } from './errors.ts';
import { isActive, type ChatJobs, type JobRecord } from './jobs.ts';
import type { Logger } from './logger.ts';

/** How long close() waits for stopped jobs to tell their surfaces (a bound on a broken surface, real time). */
export const STOP_WAIT_MS = 5000;

export interface ShutdownContext {
  jobs: ChatJobs;
  clock: Clock;
  logger: Logger;
  /** Called last (closes a connection the core opened). */
  onClosed: () => void;
}

/** Stops one job with a message for its person; its `finished` settles once the surface has been told. */
export function stopForShutdown(job: JobRecord): void {
  if (!isActive(job) || job.stopReason || job.abort.signal.aborted) return;
  job.stopReason =
    job.state === 'running'
      ? new DaemonUnavailableError('The bot is shutting down and stopped this clip before it was finished. Send it again once it is back.')
      : new DaemonUnavailableError('The bot is shutting down, so this clip was not started. Send it again once it is back.');
  job.abort.abort();
}

export class CoreShutdown {
  private closed: Promise<CloseSummary> | undefined;
  private hurry: (() => void) | undefined;
  private started = false;

  constructor(private readonly ctx: ShutdownContext) {}

  /** True from the first close() on: admission refuses new requests. */
  get closing(): boolean {
    return this.started;
  }

  close(options: CloseOptions = {}): Promise<CloseSummary> {
    const drainMs = options.drainMs ?? 0;
    if (!(drainMs >= 0 && Number.isFinite(drainMs))) return Promise.reject(new RangeError(`close(): drainMs must be a finite number of milliseconds ≥ 0, got ${drainMs}`));
    if (this.closed) {
      if (drainMs === 0) this.hurry?.();
      return this.closed;
    }
    this.started = true;
    this.closed = this.run(drainMs);
    return this.closed;
  }

  private async run(drainMs: number): Promise<CloseSummary> {
    const { jobs } = this.ctx;
    const active = jobs.active();
    // Not started yet: a drain would make them wait for nothing (the daemon takes no new work either). Told at once.
    const waiting = active.filter((j) => j.state !== 'running');
    const running = active.filter((j) => j.state === 'running');
    for (const job of waiting) stopForShutdown(job);
    if (running.length && drainMs > 0) {
      this.ctx.logger.info(`shutting down: waiting up to ${Math.round(drainMs / 1000)} s for ${running.length} running clip(s); ${waiting.length} waiting told to send again`);
      await this.drain(running, drainMs);
    }
    // Whatever is still active (running past the drain, or started while close() began) is stopped and told.
    const left = jobs.active();
    for (const job of left) stopForShutdown(job);
    const all = [...new Set([...active, ...left])];
    await Promise.race([Promise.all(all.map((j) => j.finished)), new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    this.ctx.onClosed();
    return {
      delivered: running.filter((j) => j.state === 'delivered').length,
      toldToResend: all.length - running.length,
      stopped: left.filter((j) => running.includes(j)).length,
    };
  }

  /** Until every running job has ended, `drainMs` has passed, or a second close({ drainMs: 0 }) hurries it. */
  private async drain(running: JobRecord[], drainMs: number): Promise<void> {
    const { clock } = this.ctx;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    await Promise.race([
      Promise.all(running.map((j) => j.finished)),
      new Promise<void>((resolve) => {
        this.hurry = resolve;
        timer = clock.setTimeout(resolve, drainMs);
      }),
    ]);
    if (timer) clock.clearTimeout(timer);
  }
}
