// The cluster's atomic steps (inference/cluster/scripts.ts) against a real Redis: fair rounds give start-time fair
// queuing across owners, the caps hold cluster-wide, and the fenced publish keeps a presumed-dead worker's attempt and
// anything after the end out of a job's stream. Each figure here is known in closed form.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clusterKeys } from '../../inference/cluster/keys.ts';
import { admitScript, claimScript, markCancelScript, publishScript } from '../../inference/cluster/scripts.ts';
import { startLocalRedis, type LocalRedis } from '../../tools/cluster/local-redis.ts';

const keys = clusterKeys('t');
const bull = { prioritized: 'bull:t:prioritized', wait: 'bull:t:wait' };
const limits = { maxlen: 100, jobTtl: 600, resultTtl: 60 };
let redis: LocalRedis;
let client: Redis;

beforeAll(async () => {
  redis = await startLocalRedis();
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});
beforeEach(async () => {
  await client.flushall();
});

async function admit(id: string, owner: string, caps = { maxQueued: 100, maxQueuedPerOwner: 100 }) {
  const r = await admitScript(client, { record: keys.job(id), events: keys.events(id), rounds: keys.rounds, round: keys.round, waiting: keys.waiting, waitingTotal: keys.waitingTotal, lastAdmit: keys.lastAdmit, ...bull }, { requester: owner, fingerprint: `fp-${id}`, owner, ...caps, jobTtlSeconds: 600 });
  // What a gateway does next: BullMQ's add puts it in the prioritized set with priority round + 1 (score order).
  if (r.kind === 'admitted') await client.zadd(bull.prioritized, (r.round + 1) * 2 ** 32 + Number(await client.incr('t:seq')), id);
  return r;
}

/** What a worker does when it takes the first job in line. */
async function startNext(): Promise<string> {
  const [id] = await client.zpopmin(bull.prioritized);
  await claimScript(client, { record: keys.job(id!), round: keys.round, waiting: keys.waiting, waitingTotal: keys.waitingTotal }, 'w1');
  return id!;
}

describe('fair rounds', () => {
  it('everyone’s first job runs before anyone’s second, whoever queued more first', async () => {
    for (let i = 1; i <= 4; i++) await admit(`a${i}`, 'A');
    for (let i = 1; i <= 2; i++) await admit(`b${i}`, 'B');
    await admit('c1', 'C');
    const order: string[] = [];
    for (let i = 0; i < 7; i++) order.push(await startNext());
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4']);
  });

  it('a newcomer joins the round being served instead of waiting behind rounds queued in advance', async () => {
    for (let i = 1; i <= 5; i++) await admit(`a${i}`, 'A'); // rounds 0..4
    expect(await startNext()).toBe('a1');
    expect(await startNext()).toBe('a2'); // round 1 is being served
    const d = await admit('d1', 'D');
    expect(d).toEqual({ kind: 'admitted', round: 1 });
    // Round 1 has no one else waiting (a2 started), so D goes next, before A's rounds 2..4.
    expect(await startNext()).toBe('d1');
    expect(await startNext()).toBe('a3');
  });

  it('a burst of admissions that BullMQ does not hold yet still counts as waiting: the rounds go on', async () => {
    const admitOnly = (id: string) => admitScript(client, { record: keys.job(id), events: keys.events(id), rounds: keys.rounds, round: keys.round, waiting: keys.waiting, waitingTotal: keys.waitingTotal, lastAdmit: keys.lastAdmit, ...bull }, { requester: 'A', fingerprint: id, owner: 'A', maxQueued: 100, maxQueuedPerOwner: 100, jobTtlSeconds: 600 });
    const rounds = [];
    for (let i = 0; i < 4; i++) rounds.push(await admitOnly(`burst${i}`));
    expect(rounds).toEqual([0, 1, 2, 3].map((round) => ({ kind: 'admitted', round })));
  });

  it('the rounds start again from 0 when nothing waits', async () => {
    for (let i = 1; i <= 3; i++) await admit(`a${i}`, 'A');
    for (let i = 0; i < 3; i++) await startNext();
    expect(await admit('a4', 'A')).toEqual({ kind: 'admitted', round: 0 });
  });
});

describe('admission', () => {
  it('a known request id reports its owner and fingerprint instead of admitting it again', async () => {
    await admit('x', 'A');
    expect(await admit('x', 'B')).toEqual({ kind: 'exists', requester: 'A', fingerprint: 'fp-x', state: 'queued' });
    expect(await client.zcard(bull.prioritized)).toBe(1);
  });

  it('the caps hold: jobs waiting in all, and per owner; a started job frees its owner’s place', async () => {
    const caps = { maxQueued: 3, maxQueuedPerOwner: 2 };
    expect((await admit('a1', 'A', caps)).kind).toBe('admitted');
    expect((await admit('a2', 'A', caps)).kind).toBe('admitted');
    expect(await admit('a3', 'A', caps)).toEqual({ kind: 'full', waiting: 2, ownerWaiting: 2 });
    expect((await admit('b1', 'B', caps)).kind).toBe('admitted');
    expect(await admit('c1', 'C', caps)).toEqual({ kind: 'full', waiting: 3, ownerWaiting: 0 });
    await startNext(); // a1 starts: A has one waiting, the line two
    expect((await admit('a3', 'A', caps)).kind).toBe('admitted');
  });
});

describe('fenced publishing', () => {
  const ids = (id: string) => ({ record: keys.job(id), events: keys.events(id), waiting: keys.waiting, waitingTotal: keys.waitingTotal });
  const event = (text: string) => ({ kind: 'e' as const, payload: text });

  it('only the current attempt publishes; the end is written once and nothing follows it', async () => {
    await admit('j', 'A');
    await client.zpopmin(bull.prioritized);
    const first = await claimScript(client, { record: keys.job('j'), round: keys.round, waiting: keys.waiting, waitingTotal: keys.waitingTotal }, 'w1');
    expect(first).toEqual({ kind: 'ok', attempt: 1, cancelReason: '', cancelCode: '' });
    expect(await publishScript(client, ids('j'), 1, event('step 1'), limits)).toBe('ok');
    // w1 is presumed dead; w2 takes the job up.
    const second = await claimScript(client, { record: keys.job('j'), round: keys.round, waiting: keys.waiting, waitingTotal: keys.waitingTotal }, 'w2');
    expect(second).toMatchObject({ kind: 'ok', attempt: 2 });
    expect(await publishScript(client, ids('j'), 1, event('late step from w1'), limits)).toBe('fenced');
    expect(await publishScript(client, ids('j'), 2, { kind: 'x', payload: '{}', end: { state: 'done', code: '', message: '' } }, limits)).toBe('ok');
    expect(await publishScript(client, ids('j'), 2, { kind: 'x', payload: '{}', end: { state: 'done', code: '', message: '' } }, limits)).toBe('final');
    expect(await publishScript(client, ids('j'), '*', event('after the end'), limits)).toBe('final');
    const entries = await client.xrange(keys.events('j'), '-', '+');
    expect(entries.map(([, f]) => `${f[1]}:${f[3]}`)).toEqual(['e:step 1', 'x:{}']);
    expect(await client.hget(keys.job('j'), 'state')).toBe('done');
    const ttl = await client.ttl(keys.job('j'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(limits.resultTtl);
  });

  it('a record Redis lost is "gone" to the worker; cancel marks are checked against the requester', async () => {
    expect(await publishScript(client, ids('nope'), 1, event('x'), limits)).toBe('gone');
    expect(await claimScript(client, { record: keys.job('nope'), round: keys.round, waiting: keys.waiting, waitingTotal: keys.waitingTotal }, 'w1')).toEqual({ kind: 'gone' });
    await admit('k', 'A');
    expect(await markCancelScript(client, keys.job('k'), { reason: 'stop', code: 'CANCELLED' }, 'B')).toBe('taken');
    expect(await markCancelScript(client, keys.job('k'), { reason: 'stop', code: 'CANCELLED' }, 'A')).toBe('queued');
    await client.zpopmin(bull.prioritized);
    expect(await claimScript(client, { record: keys.job('k'), round: keys.round, waiting: keys.waiting, waitingTotal: keys.waitingTotal }, 'w1')).toEqual({ kind: 'ok', attempt: 1, cancelReason: 'stop', cancelCode: 'CANCELLED' });
    expect(await markCancelScript(client, keys.job('unknown'), { reason: 'stop', code: 'CANCELLED' }, '')).toBe('unknown');
  });

  it('a job ended while it waited gives its owner’s place back', async () => {
    await admit('q', 'A');
    expect(await client.hget(keys.waiting, 'A')).toBe('1');
    await client.zrem(bull.prioritized, 'q');
    expect(await publishScript(client, ids('q'), '*', { kind: 'x', payload: '{"code":"CANCELLED"}', end: { state: 'cancelled', code: 'CANCELLED', message: 'stop' } }, limits)).toBe('ok');
    expect(await client.hget(keys.waiting, 'A')).toBeNull();
  });
});
