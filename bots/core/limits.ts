// Per-user and per-server limits: how many jobs may run at once, and how many may start per time window.
// Refusals are RateLimitedErrors whose message says which limit and when to try again. Time is injected.
import type { Clock } from './clock.ts';
import { RateLimitedError } from './errors.ts';
import type { Requester } from './adapter.ts';

export interface UsageLimitsOptions {
  /** Jobs one person may have queued or running at once (variants count one each). Default 4. 0 = no limit. */
  perUserConcurrent: number;
  /** Jobs one server (guild / team / playground) may have queued or running at once. Default 12. 0 = no limit. */
  perServerConcurrent: number;
  /** Jobs one person may start per window. Default 20. 0 = no limit. */
  perUserPerWindow: number;
  /** The window for perUserPerWindow, in ms. Default 10 minutes. */
  windowMs: number;
}

export const DEFAULT_USAGE_LIMITS: UsageLimitsOptions = {
  perUserConcurrent: 4,
  perServerConcurrent: 12,
  perUserPerWindow: 20,
  windowMs: 10 * 60_000,
};

/** Held while jobs run. Each finished job gives back one slot; release() gives back all that remain. */
export interface UsageLease {
  releaseOne(): void;
  release(): void;
}

const userKey = (r: Requester) => `${r.platform}:${r.serverId ?? '-'}:${r.userId}`;
const serverKey = (r: Requester) => `${r.platform}:${r.serverId ?? r.channelId}`;

export class UsageLimiter {
  private readonly activeByUser = new Map<string, number>();
  private readonly activeByServer = new Map<string, number>();
  private readonly startsByUser = new Map<string, number[]>();
  readonly options: UsageLimitsOptions;

  constructor(
    options: Partial<UsageLimitsOptions> = {},
    private readonly clock: Clock,
  ) {
    this.options = { ...DEFAULT_USAGE_LIMITS, ...options };
  }

  /** Reserves `count` jobs for the requester, or throws RateLimitedError saying which limit and when. */
  acquire(requester: Requester, count = 1): UsageLease {
    const { perUserConcurrent, perServerConcurrent, perUserPerWindow, windowMs } = this.options;
    const u = userKey(requester);
    const s = serverKey(requester);
    const now = this.clock.now();
    const activeUser = this.activeByUser.get(u) ?? 0;
    const activeServer = this.activeByServer.get(s) ?? 0;
    if (perUserConcurrent > 0 && activeUser + count > perUserConcurrent) {
      const free = Math.max(0, perUserConcurrent - activeUser);
      throw new RateLimitedError(
        `You already have ${activeUser} clip${activeUser === 1 ? '' : 's'} in progress; at most ${perUserConcurrent} at once` +
          (count > 1 ? ` (you asked for ${count}, ${free} can start now)` : '') + '. Wait for one to finish, or cancel one.',
      );
    }
    if (perServerConcurrent > 0 && activeServer + count > perServerConcurrent) {
      throw new RateLimitedError(`This server already has ${activeServer} clips in progress; at most ${perServerConcurrent} at once. Try again when one finishes.`);
    }
    if (perUserPerWindow > 0) {
      const starts = (this.startsByUser.get(u) ?? []).filter((t) => t > now - windowMs);
      if (starts.length + count > perUserPerWindow) {
        const oldest = starts[Math.max(0, starts.length + count - perUserPerWindow - 1)] ?? now;
        const retryAfterSeconds = Math.max(1, Math.ceil((oldest + windowMs - now) / 1000));
        throw new RateLimitedError(
          `You have started ${starts.length} clips in the last ${formatDuration(windowMs)}; the limit is ${perUserPerWindow}. Try again in ${formatDuration(retryAfterSeconds * 1000)}.`,
          { retryAfterSeconds },
        );
      }
      for (let i = 0; i < count; i++) starts.push(now);
      this.startsByUser.set(u, starts);
    }
    this.activeByUser.set(u, activeUser + count);
    this.activeByServer.set(s, activeServer + count);
    let remaining = count;
    const releaseOne = () => {
      if (remaining <= 0) return;
      remaining--;
      decrement(this.activeByUser, u);
      decrement(this.activeByServer, s);
    };
    return {
      releaseOne,
      release: () => {
        while (remaining > 0) releaseOne();
      },
    };
  }

  /** Jobs in progress for this requester (for tests and status lines). */
  activeFor(requester: Requester): number {
    return this.activeByUser.get(userKey(requester)) ?? 0;
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const value = (map.get(key) ?? 0) - 1;
  if (value <= 0) map.delete(key);
  else map.set(key, value);
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  const rest = s % 60;
  if (m < 60) return rest ? `${m} min ${rest} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}
