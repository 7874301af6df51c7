// Per-surface update throttling. Chat platforms rate-limit message edits (Discord ~5 edits / 5 s per message,
// Slack chat.update tier 3), while the daemon streams an event per step. So:
//   - at most one surface call per `intervalMs`; calls never overlap on one surface;
//   - each kind (queued / started / progress / preview) keeps only its latest pending update;
//   - when several kinds wait, the one sent least recently goes first, so progress cannot starve previews;
//   - the final state (clip / failure / cancel) drops stale updates but, if no preview was shown yet, the latest
//     pending preview still goes out first, and the final state always goes out.
import { sleep, type Clock, type TimerHandle } from './clock.ts';
import type { Logger } from './logger.ts';

export type UpdateKind = 'queued' | 'started' | 'progress' | 'preview';
const KIND_ORDER: readonly UpdateKind[] = ['queued', 'started', 'progress', 'preview'];

export class UpdateThrottle {
  private readonly pending = new Map<UpdateKind, () => Promise<void>>();
  private readonly lastSentByKind = new Map<UpdateKind, number>();
  private lastSentAt = -Infinity;
  private busy = false;
  private closed = false;
  private timer: TimerHandle | undefined;
  private idleWaiters: Array<() => void> = [];
  /** Surface calls made so far, by kind (for tests and logs). */
  readonly sent: Record<UpdateKind, number> = { queued: 0, started: 0, progress: 0, preview: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Queues an update; the latest of each kind wins. Ignored once finish() was called. */
  update(kind: UpdateKind, call: () => Promise<void>): void {
    if (this.closed) return;
    this.pending.set(kind, call);
    this.pump();
  }

  /** Ends the stream of updates and makes the final call (after the interval). Its error propagates. */
  async finish(finalCall: () => Promise<void>): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const latePreview = this.sent.preview === 0 ? this.pending.get('preview') : undefined;
    this.pending.clear();
    await this.whenIdle();
    if (latePreview) {
      await this.waitForSlot();
      await this.run('preview', latePreview);
    }
    await this.waitForSlot();
    this.lastSentAt = this.clock.now();
    await finalCall();
  }

  private pump(): void {
    if (this.busy || this.closed || this.pending.size === 0) return this.notifyIdle();
    const wait = this.lastSentAt + this.intervalMs - this.clock.now();
    if (wait > 0) {
      this.timer ??= this.clock.setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      return;
    }
    let kind: UpdateKind | undefined;
    for (const k of KIND_ORDER) {
      if (!this.pending.has(k)) continue;
      if (kind === undefined || (this.lastSentByKind.get(k) ?? -Infinity) < (this.lastSentByKind.get(kind) ?? -Infinity)) kind = k;
    }
    if (kind === undefined) return;
    const call = this.pending.get(kind);
    this.pending.delete(kind);
    if (!call) return;
    this.busy = true;
    void this.run(kind, call).finally(() => {
      this.busy = false;
      this.pump();
    });
  }

  private async run(kind: UpdateKind, call: () => Promise<void>): Promise<void> {
    const now = this.clock.now();
    this.lastSentAt = now;
    this.lastSentByKind.set(kind, now);
    this.sent[kind]++;
    try {
      await call();
    } catch (err) {
      // An update that fails (edit rate-limited, message deleted) must not end the job: the final state still goes out.
      this.logger.warn(`surface ${kind} update failed`, err);
    }
  }

  private waitForSlot(): Promise<void> {
    return sleep(this.clock, this.lastSentAt + this.intervalMs - this.clock.now());
  }

  private whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.busy) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
