// Slack's rate tiers are per method per workspace (chat.update is tier 3: about 50 calls a minute), and
// posting is about one message a second per channel. Every surface of a workspace shares one gate, so
// several jobs at once still stay under the limits. Progress updates that find no token are dropped (a
// later one carries newer numbers); final states wait for a token.
import { sleep, systemClock, type Clock } from '../core/clock.ts';

export interface RateGateOptions {
  /** Calls per minute allowed per method (defaults below stay a little under Slack's tiers). */
  perMinute?: Partial<Record<string, number>>;
  /** Average spacing of posts (messages and file shares) in one channel, short bursts allowed; default 1000 ms. */
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
  constructor(private readonly perMinute: number, now: number, private readonly burst = TokenBucket.capacity(perMinute)) {
    this.tokens = burst; // a small burst, as Slack tolerates
    this.last = now;
  }
  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perMinute) / 60_000);
    this.last = now;
  }
  /** Burst size: ten seconds' worth, at least 1, at most 8. */
  static capacity(perMinute: number): number {
    return Math.min(8, Math.max(1, Math.floor(perMinute / 6)));
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
  private readonly perMinute: Record<string, number>;
  private readonly postsPerMinute: number;
  readonly clock: Clock;

  constructor(options: RateGateOptions = {}) {
    this.perMinute = { ...DEFAULT_PER_MINUTE };
    for (const [method, value] of Object.entries(options.perMinute ?? {})) if (value !== undefined) this.perMinute[method] = value;
    this.postsPerMinute = 60_000 / Math.max(1, options.perChannelPostIntervalMs ?? 1000);
    this.clock = options.clock ?? systemClock;
  }

  private bucket(key: string, perMinute: number | undefined, burst?: number): TokenBucket | undefined {
    if (perMinute === undefined) return undefined;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(perMinute, this.clock.now(), burst);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /** The buckets one call draws from: its method's, and for posts its channel's (one a second, short bursts). */
  private bucketsFor(method: string, channel?: string): TokenBucket[] {
    const out: TokenBucket[] = [];
    const byMethod = this.bucket(`m:${method}`, this.perMinute[method]);
    if (byMethod) out.push(byMethod);
    if (channel && this.isPost(method)) out.push(this.bucket(`c:${channel}`, this.postsPerMinute, 3)!);
    return out;
  }

  /** For droppable updates: true when the call may go now (and counts it). */
  tryAcquire(method: string, channel?: string): boolean {
    const now = this.clock.now();
    const buckets = this.bucketsFor(method, channel);
    if (buckets.some((b) => b.waitMs(now) > 0)) return false;
    for (const b of buckets) b.tryTake(now);
    return true;
  }

  /** For calls that must happen: waits until the call may go. */
  async acquire(method: string, channel?: string): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      const wait = Math.max(0, ...this.bucketsFor(method, channel).map((b) => b.waitMs(now)));
      if (wait <= 0 && this.tryAcquire(method, channel)) return;
      await sleep(this.clock, Math.max(wait, 10));
    }
  }

  private isPost(method: string): boolean {
    return method === 'chat.postMessage' || method === 'files.upload';
  }
}
