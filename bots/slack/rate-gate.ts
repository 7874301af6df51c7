// Slack's rate tiers are per method per workspace (chat.update is tier 3: about 50 calls a minute), and
// posting is about one message a second per channel. Every surface of a workspace shares one gate, so
// several jobs at once still stay under the limits. Progress updates that find no token are dropped (a
// later one carries newer numbers); final states wait for a token.
import { sleep, systemClock, type Clock } from '../core/clock.ts';

export interface RateGateOptions {
  /** Calls per minute allowed per method (defaults below stay a little under Slack's tiers). */
  perMinute?: Partial<Record<string, number>>;
  /** Minimum spacing of posts (messages and file shares) in one channel; default 1000 ms. */
  perChannelPostIntervalMs?: number;
  clock?: Clock;
}

/** Stays under tier 3 (50+/min) for chat.update and tier 2/4 for the file methods. */
export const DEFAULT_PER_MINUTE: Readonly<Record<string, number>> = {
  'chat.update': 45,
  'chat.postMessage': 50,
  'files.upload': 20,
  'files.delete': 20,
};

class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(private readonly perMinute: number, now: number) {
    this.tokens = Math.max(1, Math.floor(perMinute / 6)); // a small burst, as Slack tolerates
    this.last = now;
  }
  private refill(now: number): void {
    const capacity = Math.max(1, Math.floor(this.perMinute / 6));
    this.tokens = Math.min(capacity, this.tokens + ((now - this.last) * this.perMinute) / 60_000);
    this.last = now;
  }
  tryTake(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
  /** Milliseconds until a token is available. */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 60_000) / this.perMinute);
  }
}

export class SlackRateGate {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly lastPost = new Map<string, number>();
  private readonly perMinute: Record<string, number>;
  private readonly postIntervalMs: number;
  readonly clock: Clock;

  constructor(options: RateGateOptions = {}) {
    this.perMinute = { ...DEFAULT_PER_MINUTE };
    for (const [method, value] of Object.entries(options.perMinute ?? {})) if (value !== undefined) this.perMinute[method] = value;
    this.postIntervalMs = options.perChannelPostIntervalMs ?? 1000;
    this.clock = options.clock ?? systemClock;
  }

  private bucket(method: string): TokenBucket | undefined {
    const perMinute = this.perMinute[method];
    if (perMinute === undefined) return undefined;
    let bucket = this.buckets.get(method);
    if (!bucket) {
      bucket = new TokenBucket(perMinute, this.clock.now());
      this.buckets.set(method, bucket);
    }
    return bucket;
  }

  /** For droppable updates: true when the call may go now (and counts it). */
  tryAcquire(method: string, channel?: string): boolean {
    const now = this.clock.now();
    if (channel && this.isPost(method) && now - (this.lastPost.get(channel) ?? -Infinity) < this.postIntervalMs) return false;
    const bucket = this.bucket(method);
    if (bucket && !bucket.tryTake(now)) return false;
    if (channel && this.isPost(method)) this.lastPost.set(channel, now);
    return true;
  }

  /** For calls that must happen: waits until the call may go. */
  async acquire(method: string, channel?: string): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      let wait = 0;
      if (channel && this.isPost(method)) wait = Math.max(wait, (this.lastPost.get(channel) ?? -Infinity) + this.postIntervalMs - now);
      const bucket = this.bucket(method);
      if (bucket) wait = Math.max(wait, bucket.waitMs(now));
      if (wait <= 0 && this.tryAcquire(method, channel)) return;
      await sleep(this.clock, Math.max(wait, 10));
    }
  }

  private isPost(method: string): boolean {
    return method === 'chat.postMessage' || method === 'files.upload';
  }
}
