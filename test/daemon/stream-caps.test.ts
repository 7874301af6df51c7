// StreamCaps alone (inference/server/stream-caps.ts): Generate streams are capped per job and per client connection,
// a refusal is TOO_MANY_STREAMS, and a release (however often it is called) gives back exactly one slot of each.
import { describe, expect, it } from 'vitest';
import { TooManyStreamsError } from '../../inference/errors.ts';
import type { Job } from '../../inference/server/job.ts';
import { DEFAULT_MAX_STREAMS_PER_CONNECTION, DEFAULT_MAX_STREAMS_PER_JOB, StreamCaps } from '../../inference/server/stream-caps.ts';
import { DaemonErrorCode } from '../../shared/wire/error-codes.ts';

/** StreamCaps reads only a job's identity and id. */
const job = (id: string) => ({ id }) as Job;

const refusal = (fn: () => unknown): TooManyStreamsError => {
  try {
    fn();
  } catch (err) {
    return err as TooManyStreamsError;
  }
  throw new Error('expected a refusal');
};

describe('StreamCaps', () => {
  it('defaults to 8 streams per job and 256 per connection', () => {
    const caps = new StreamCaps();
    expect([caps.perJob, caps.perConnection]).toEqual([DEFAULT_MAX_STREAMS_PER_JOB, DEFAULT_MAX_STREAMS_PER_CONNECTION]);
    expect([DEFAULT_MAX_STREAMS_PER_JOB, DEFAULT_MAX_STREAMS_PER_CONNECTION]).toEqual([8, 256]);
  });

  it('caps the streams following one job, whatever connections they come on', () => {
    const caps = new StreamCaps({ perJob: 2, perConnection: 10 });
    const j = job('j1');
    caps.acquire('peer-a', j);
    caps.acquire('peer-b', j);
    const err = refusal(() => caps.acquire('peer-c', j));
    expect(err).toBeInstanceOf(TooManyStreamsError);
    expect(err.code).toBe(DaemonErrorCode.TooManyStreams);
    expect(err.message).toMatch(/request j1 already has 2 streams following it/);
    // Another job is not affected, and a refused acquire took no connection slot.
    caps.acquire('peer-c', job('j2'));
  });

  it('caps the streams on one connection, checked before admission and at acquire', () => {
    const caps = new StreamCaps({ perJob: 10, perConnection: 2 });
    caps.acquire('peer-a', job('j1'));
    caps.acquire('peer-a', job('j2'));
    expect(refusal(() => caps.checkConnection('peer-a')).message).toMatch(/this connection already has 2 Generate streams open/);
    expect(refusal(() => caps.acquire('peer-a', job('j3')))).toBeInstanceOf(TooManyStreamsError);
    // Other connections keep their own count.
    caps.checkConnection('peer-b');
    caps.acquire('peer-b', job('j3'));
  });

  it('a release gives back one slot of the job and of the connection, once however often it is called', () => {
    const caps = new StreamCaps({ perJob: 2, perConnection: 2 });
    const j = job('j1');
    const first = caps.acquire('peer-a', j);
    caps.acquire('peer-a', j);
    expect(refusal(() => caps.acquire('peer-a', job('j2')))).toBeInstanceOf(TooManyStreamsError);
    first();
    first();
    first();
    // One slot back on each: one more stream of j1 fits, and then neither has room.
    caps.acquire('peer-a', j);
    expect(refusal(() => caps.checkConnection('peer-a'))).toBeInstanceOf(TooManyStreamsError);
    expect(refusal(() => caps.acquire('peer-b', j)).message).toMatch(/request j1 already has 2 streams/);
  });

  it('every slot released leaves the connection with its whole allowance again', () => {
    const caps = new StreamCaps({ perJob: 3, perConnection: 3 });
    const releases = [caps.acquire('p', job('a')), caps.acquire('p', job('b')), caps.acquire('p', job('c'))];
    for (const release of releases) release();
    for (const id of ['d', 'e', 'f']) caps.acquire('p', job(id));
    expect(refusal(() => caps.checkConnection('p'))).toBeInstanceOf(TooManyStreamsError);
  });
});
