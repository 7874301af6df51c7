import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../bots/core/clock.ts';
import { createContentFilter } from '../../bots/core/content-filter.ts';
import { ContentRefusedError, RateLimitedError } from '../../bots/core/errors.ts';
import { UsageLimiter } from '../../bots/core/limits.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { UpdateThrottle } from '../../bots/core/throttle.ts';
import type { Requester } from '../../bots/core/adapter.ts';

const alice: Requester = { platform: 'discord', userId: 'alice', channelId: 'c', serverId: 'g1' };
const bob: Requester = { platform: 'discord', userId: 'bob', channelId: 'c', serverId: 'g1' };

function refusal(fn: () => unknown): RateLimitedError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RateLimitedError);
    return err as RateLimitedError;
  }
  throw new Error('expected RateLimitedError');
}

describe('UsageLimiter', () => {
  it('limits concurrent jobs per user and frees slots one by one', () => {
    const clock = new ManualClock();
    const limiter = new UsageLimiter({ perUserConcurrent: 3, perServerConcurrent: 0, perUserPerWindow: 0 }, clock);
    const lease = limiter.acquire(alice, 2);
    expect(refusal(() => limiter.acquire(alice, 2)).message).toBe('You already have 2 clips in progress; at most 3 at once (you asked for 2, 1 can start now). Wait for one to finish, or cancel one.');
    lease.releaseOne();
    expect(limiter.activeFor(alice)).toBe(1);
    limiter.acquire(alice, 2);
    expect(limiter.activeFor(alice)).toBe(3);
    lease.release();
    lease.release();
    expect(limiter.activeFor(alice)).toBe(2);
  });
  it('limits a server across users', () => {
    const limiter = new UsageLimiter({ perUserConcurrent: 0, perServerConcurrent: 2, perUserPerWindow: 0 }, new ManualClock());
    limiter.acquire(alice);
    limiter.acquire(bob);
    expect(refusal(() => limiter.acquire(bob)).message).toContain('This server already has 2 clips in progress; at most 2');
    limiter.acquire({ ...bob, serverId: 'g2' });
  });
  it('limits starts per window and says when to retry (injected clock)', async () => {
    const clock = new ManualClock(0);
    const limiter = new UsageLimiter({ perUserConcurrent: 0, perServerConcurrent: 0, perUserPerWindow: 3, windowMs: 60_000 }, clock);
    limiter.acquire(alice).release();
    await clock.advance(10_000);
    limiter.acquire(alice, 2).release();
    const err = refusal(() => limiter.acquire(alice));
    expect(err.retryAfterSeconds).toBe(50);
    expect(err.message).toBe('You have started 3 clips in the last 1 min; the limit is 3. Try again in 50 s.');
    limiter.acquire(bob);
    await clock.advance(49_000);
    expect(refusal(() => limiter.acquire(alice)).retryAfterSeconds).toBe(1);
    await clock.advance(1_000);
    limiter.acquire(alice);
  });
});

describe('content filter', () => {
  it('refuses whole words and plurals, case-insensitively, and names the term', () => {
    const filter = createContentFilter({ blockedTerms: ['gore', 'blood bath'] });
    expect(filter.find('lots of GORE here')).toBe('gore');
    expect(filter.find('gores')).toBe('gore');
    expect(filter.find('a gorey mess')).toBeUndefined();
    expect(filter.find('a Gorengan snack')).toBeUndefined();
    expect(filter.find('a blood   bath')).toBe('blood bath');
    expect(() => filter.check('a red ball')).not.toThrow();
    expect(() => filter.check('gore')).toThrow(ContentRefusedError);
    expect(() => filter.check('gore')).toThrow('(it contains "gore")');
  });
  it('extra terms add to the defaults', () => {
    const filter = createContentFilter({ extraTerms: ['spiders'] });
    expect(filter.find('nsfw')).toBe('nsfw');
    expect(filter.find('spiders')).toBe('spiders');
  });
});

describe('UpdateThrottle (injected clock)', () => {
  it('sends at most one update per interval, latest per kind, never overlapping, and always the final state', async () => {
    const clock = new ManualClock(0);
    const throttle = new UpdateThrottle(clock, 1000, silentLogger);
    const calls: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const call = (name: string) => async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      calls.push(`${clock.now()}:${name}`);
      await Promise.resolve();
      inFlight--;
    };
    throttle.update('queued', call('queued 1'));
    for (let step = 1; step <= 10; step++) {
      await clock.advance(100);
      throttle.update('progress', call(`progress ${step}`));
      if (step % 2 === 0) throttle.update('preview', call(`preview ${step}`));
    }
    // The slot at t=1000 fires before step 10 arrives; then the kinds alternate, preview first (never sent yet).
    await clock.advance(1000);
    expect(calls).toEqual(['0:queued 1', '1000:progress 9', '2000:preview 10']);
    throttle.update('progress', call('progress late'));
    const final = throttle.finish(call('clip'));
    await clock.advance(1000);
    await final;
    expect(calls).toEqual(['0:queued 1', '1000:progress 9', '2000:preview 10', '3000:clip']);
    expect(maxInFlight).toBe(1);
    throttle.update('progress', call('after the end'));
    await clock.advance(5000);
    expect(calls).toHaveLength(4);
  });
  it('shows the latest preview before the final state when none was shown yet', async () => {
    const clock = new ManualClock(0);
    const throttle = new UpdateThrottle(clock, 1000, silentLogger);
    const calls: string[] = [];
    const call = (name: string) => async () => void calls.push(`${clock.now()}:${name}`);
    throttle.update('progress', call('p1'));
    throttle.update('preview', call('v1'));
    throttle.update('preview', call('v2'));
    const final = throttle.finish(call('clip'));
    await clock.advance(3000);
    await final;
    expect(calls).toEqual(['0:p1', '1000:v2', '2000:clip']);
  });
  it('a failing update does not stop the final state', async () => {
    const clock = new ManualClock(0);
    const throttle = new UpdateThrottle(clock, 0, silentLogger);
    const calls: string[] = [];
    throttle.update('progress', async () => {
      throw new Error('edit refused');
    });
    await throttle.finish(async () => void calls.push('fail message'));
    expect(calls).toEqual(['fail message']);
  });
});
