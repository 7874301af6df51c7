// Where the core's random numbers come from: seeds for rerolls and variants, and job ids. One injectable source, so
// a test can fix `random` and the clock and predict every id and seed the core makes.
import type { Clock } from './clock.ts';
import { MAX_SEED } from './options.ts';

export interface IdSource {
  /** A seed the daemon accepts, 0..MAX_SEED. */
  seed(): number;
  /** A fresh job id, e.g. `discord-lq3k2a-0x9f2c`: the platform, the time and six random base-36 digits. */
  jobId(platform: string): string;
}

export function createIdSource(clock: Clock, random: () => number = Math.random): IdSource {
  return {
    seed: () => Math.floor(random() * (MAX_SEED + 1)),
    jobId: (platform) => `${platform}-${clock.now().toString(36)}-${Math.floor(random() * 36 ** 6).toString(36).padStart(6, '0')}`,
  };
}

/** An adapter's idempotency key as a job id: the characters ids may hold, at most 120 of them. */
export const requestKey = (requestId: string): string => requestId.replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, 120);

/** The seed `offset` places after `seed`, wrapping past MAX_SEED (variants and variations use neighbours). */
export const seedAfter = (seed: number, offset: number): number => (seed + offset) % (MAX_SEED + 1);
