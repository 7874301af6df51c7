// Hostile input at the RPC boundary: user text quoted back in statuses stays short (a long status wedges the HTTP/2
// connection carrying it, and the bots carry everyone's jobs on one), and a request_id belongs to its requester.
// Real daemon, real gRPC on loopback; the calls that must keep working share the abusive call's connection.
import { wireStatusOf } from '../../shared/rpc/rpc-error.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import type { GenerateEvent__Output, GenerateRequest } from '../../shared/rpc/types.ts';
import { clipBytes, collect, collectSettled, startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { capBytes, excerpt } from '../../inference/excerpt.ts';
import { DaemonErrorCode, ERROR_CODE_TRAILER } from '../../shared/wire/error-codes.ts';

let fx: FixtureDaemon;
beforeAll(async () => {
  // ~30 ms per denoiser call: a 40-step job lasts long enough to be cancelled mid-way.
  fx = await startFixtureDaemon({ fixture: { burnMs: 30 } });
});
afterAll(() => fx.close());

type Settled = Awaited<ReturnType<typeof collectSettled>>;

/** Fails instead of hanging when a connection stops answering. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Three ordinary calls on fx.client's connection, each of which must finish normally. */
async function threeCallsStillWork(): Promise<void> {
  const results = await within(60_000, 'calls after the abusive one', Promise.all([
    collect(fx.client.generate({ prompt: 'a red ball', seed: 5, steps: 1, preview: { disabled: true } })),
    fx.client.listModels(),
    fx.client.listModels(),
  ]));
  expect(results[0].at(-1)!.done).toBeTruthy();
  expect(clipBytes(results[0]).length).toBeGreaterThan(0);
  expect(results[1].models.map((m) => m.name)).toEqual(['fixture']);
  expect(results[2].defaultModel).toBe('fixture');
}

function expectShortStatus(error: Settled['error'], code: number): void {
  expect(error?.code).toBe(code);
  expect(Buffer.byteLength(error!.details)).toBeLessThanOrEqual(1024);
  const md = (error as unknown as { metadata: { getMap(): Record<string, unknown> } }).metadata.getMap();
  for (const [key, value] of Object.entries(md)) expect(String(value).length, `metadata ${key}`).toBeLessThanOrEqual(256);
}

describe('status messages stay short whatever the input', () => {
  it('a 1 MB model name gets NOT_FOUND with an excerpt, and three more calls on the same connection finish', async () => {
    const name = 'm'.repeat(1024 * 1024);
    const { events, error } = await within(60_000, 'Generate with a 1 MB model name', collectSettled(fx.client.generate({ prompt: 'a red ball', model: name })));
    expect(events).toHaveLength(0);
    expectShortStatus(error, status.NOT_FOUND);
    expect(error!.details).toMatch(/^model "m+… \(1048576 characters\)" is not served here; known models: fixture$/);
    const quoted = /^model "([^"]*)"/.exec(error!.details)![1]!;
    expect(quoted.length).toBeLessThanOrEqual(200);
    await threeCallsStillWork();
  });

  it('a 100 KB Cancel reason reaches the cancelled stream cut to 200 characters, and the connection keeps working', async () => {
    const stream = collectSettled(fx.client.generate({ prompt: 'a red ball', seed: 1, steps: 40, preview: { disabled: true }, requestId: 'long-reason' }));
    // Cancel once it runs (or is queued): either way the stream ends with the reason.
    await new Promise((r) => setTimeout(r, 300));
    const reason = 'why '.repeat(25_600);
    const res = await within(60_000, 'Cancel with a 100 KB reason', fx.client.cancel('long-reason', reason));
    expect(res.cancelled).toBe(true);
    const { error } = await within(60_000, 'the cancelled stream', stream);
    expectShortStatus(error, status.CANCELLED);
    expect(error!.details.length).toBeLessThanOrEqual(200);
    expect(error!.details).toMatch(/^(why )+.*… \(102400 characters\)$/);
    await threeCallsStillWork();
  });

  it.each([
    ['aspect', { aspect: '9'.repeat(200_000) }, /^aspect: "9+… \(200000 characters\)" is not supported; allowed: /],
    ['scheduler', { scheduler: 's'.repeat(200_000) }, /^scheduler: "s+… \(200000 characters\)" is unknown; allowed: /],
  ] as const)('a 200 KB %s is quoted as an excerpt', async (_field, extra, message) => {
    const { error } = await collectSettled(fx.client.generate({ prompt: 'a red ball', ...extra }));
    expectShortStatus(error, status.INVALID_ARGUMENT);
    expect(error!.details).toMatch(message);
    await threeCallsStillWork();
  });

  it('excerpt and capBytes: marked as cut, bounded, whole characters, control characters escaped', () => {
    expect(excerpt('short')).toBe('short');
    const long = excerpt('x'.repeat(5000));
    expect(long.length).toBeLessThanOrEqual(200);
    expect(long.endsWith('… (5000 characters)')).toBe(true);
    expect(excerpt('a\nb\u0007\u202e')).toBe('a\\nb\\x07\\u202e');
    // A cut never splits a surrogate pair into a lone half.
    const emoji = excerpt('😀'.repeat(300));
    expect(emoji).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    const capped = capBytes('é'.repeat(3000), 1024);
    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(1024);
    expect(capped).toMatch(/^é+… \(cut from 6000 bytes\)$/);
  });
});

describe('a request_id belongs to its requester', () => {
  const alice = { userId: 'alice', platform: 'DISCORD', serverId: 'guild-1' } as const;
  const base = (requestId: string, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({ prompt: 'a red ball', steps: 2, preview: { disabled: true }, requestId, requester: alice, ...extra });

  it('another requester gets PERMISSION_DENIED and nothing of the job, whoever differs (user, server, platform)', async () => {
    const first = await collect(fx.client.generate(base('owned-1')));
    expect(first.at(-1)!.done).toBeTruthy();
    for (const other of [{ ...alice, userId: 'mallory' }, { ...alice, serverId: 'guild-2' }, { ...alice, platform: 'SLACK' as const }, undefined]) {
      const { events, error } = await collectSettled(fx.client.generate({ ...base('owned-1'), requester: other ?? null }));
      expect(events, JSON.stringify(other)).toHaveLength(0);
      expect(error?.code).toBe(status.PERMISSION_DENIED);
      expect(error?.details).toBe('request_id "owned-1" belongs to another requester; choose a new one');
      expect(error?.metadata?.get(ERROR_CODE_TRAILER)).toEqual([DaemonErrorCode.RequestIdTaken]);
    }
  });

  it('another requester cannot follow a running job, and the owner\'s stream is not disturbed', async () => {
    const owner = collectSettled(fx.client.generate(base('running-1', { steps: 20, seed: 4 })));
    await new Promise((r) => setTimeout(r, 200));
    const intruder = await collectSettled(fx.client.generate({ ...base('running-1', { steps: 20, seed: 4 }), requester: { ...alice, userId: 'mallory' } }));
    expect(intruder.events).toHaveLength(0);
    expect(intruder.error?.code).toBe(status.PERMISSION_DENIED);
    const { events, error } = await owner;
    expect(error).toBeUndefined();
    expect(events.at(-1)!.done!.seed).toBe(4);
  });

  it('the same requester with other parameters gets ALREADY_EXISTS, not the old clip; the same parameters stream it again', async () => {
    const first = await collect(fx.client.generate(base('mine-1')));
    const seed = first.at(-1)!.done!.seed;
    for (const changed of [{ prompt: 'a blue cube' }, { seed }, { steps: 3 }, { formats: ['GIF' as const] }, { aspect: '1:1' }, { scheduler: 'euler' }, { preview: { disabled: false } }, { upscale: 2 }]) {
      const { events, error } = await collectSettled(fx.client.generate(base('mine-1', changed)));
      expect(events, JSON.stringify(changed)).toHaveLength(0);
      expect(error?.code).toBe(status.ALREADY_EXISTS);
      expect(error?.details).toMatch(/^request_id "mine-1" was already used for a different request/);
      expect(error?.metadata?.get(ERROR_CODE_TRAILER)).toEqual([DaemonErrorCode.RequestIdReused]);
    }
    // A retry: the seed still absent matches, and it is the same job, not a second generation.
    const again: GenerateEvent__Output[] = await collect(fx.client.generate(base('mine-1')));
    expect(again.at(-1)!.done!.seed).toBe(seed);
    expect(clipBytes(again).equals(clipBytes(first))).toBe(true);
    expect(again.at(-1)!.done!.timings!.totalMs).toBe(first.at(-1)!.done!.timings!.totalMs);
  });

  it('a Cancel naming another requester gets PERMISSION_DENIED and the job runs on; its own requester cancels it', async () => {
    const owner = collectSettled(fx.client.generate(base('cancel-owned', { steps: 40, seed: 6 })));
    await new Promise((r) => setTimeout(r, 200));
    for (const other of [{ ...alice, userId: 'mallory' }, { ...alice, serverId: 'guild-2' }, { ...alice, platform: 'SLACK' as const }]) {
      const refused = await fx.client.cancel('cancel-owned', 'mallory was here', other).then(() => undefined, (err: unknown) => wireStatusOf(err));
      expect(refused?.code, JSON.stringify(other)).toBe(status.PERMISSION_DENIED);
      expect(refused?.metadata.get(ERROR_CODE_TRAILER)).toEqual([DaemonErrorCode.RequestIdTaken]);
    }
    const res = await fx.client.cancel('cancel-owned', 'changed my mind', { ...alice, displayName: 'Alice', channelId: 'c-2' });
    expect(res.cancelled).toBe(true);
    const { error } = await owner;
    expect(error?.code).toBe(status.CANCELLED);
    // Nobody else's words reach the owner's status.
    expect(error?.details).toBe('changed my mind');
  });

  it('a seed given on the first request must be given again on a retry', async () => {
    const first = await collect(fx.client.generate(base('seeded-1', { seed: 11 })));
    expect((await collectSettled(fx.client.generate(base('seeded-1')))).error?.code).toBe(status.ALREADY_EXISTS);
    const again = await collect(fx.client.generate(base('seeded-1', { seed: 11 })));
    expect(clipBytes(again).equals(clipBytes(first))).toBe(true);
  });
});
