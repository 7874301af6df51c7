// Work a Slack handler does after its ack: Bolt wants every request answered within 3 s, so the job runs in the
// background. Every such piece of work (and every job it started) is tracked until it ends, so that errors are
// logged rather than lost and idle() can wait for all of them (tests, graceful shutdown).
import type { AnimateResult } from '../core/api.ts';
import type { Logger } from '../core/logger.ts';

export class BackgroundWork {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly logger: Logger) {}

  /** Runs work after the ack without holding the request; errors are logged, never lost silently. */
  run(what: string, work: () => Promise<unknown>): void {
    const p = work()
      .catch((err: unknown) => this.logger.error(`slack: ${what} failed`, err))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Keeps track of a started request's jobs until they have ended. */
  track(result: AnimateResult | undefined): void {
    if (!result) return;
    const p = result.finished.catch(() => undefined).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Resolves when everything run or tracked so far (and whatever that started meanwhile) has ended. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
