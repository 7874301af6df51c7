// Where the core's random numbers come from: seeds for rerolls and variants, and job ids. One injectable source, so
// a test can fix `random` and the clock and predict every id and seed the core makes.
import { createHash } from 'node:crypto';
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
export function requestKey(requestId: string): string {
  const safe = requestId.replace(/[^A-Za-z0-9._:-]/g, '_');
  // Kept as it is when that loses nothing; otherwise a digest, so that "a b" and "a_b", two ids cut to the same
  // 120 characters, or an id ending like a variant's ("x.v2") never share a key.
  if (safe === requestId && safe.length <= 120 && !/\.v\d+$/.test(safe)) return safe;
  return `h-${createHash('sha256').update(requestId).digest('base64url').slice(0, 32)}`;
}

/** The seed `offset` places after `seed`, wrapping past MAX_SEED (variants and variations use neighbours). */
export const seedAfter = (seed: number, offset: number): number => (seed + offset) % (MAX_SEED + 1);
