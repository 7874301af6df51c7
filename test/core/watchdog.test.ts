// The job watchdog on a hand-driven clock: which silence counts as a stall in each phase, how the deadline follows the
// ETAs, and when a silent queue is probed instead of given up on. Timing is exact here (ManualClock), so the limits
// are checked to the millisecond; the real-daemon behaviour is in liveness.test.ts.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../bots/core/clock.ts';
import { DEFAULT_LIVENESS, JobWatchdog, resolveLiveness, type LivenessOptions, type WatchdogExpiry } from '../../bots/core/watchdog.ts';
import type { GenerateEvent__Output } from '../../shared/rpc/types.ts';

const queued = (position: number, etaSeconds: number) => ({ queued: { position, queueLength: position, etaSeconds } }) as GenerateEvent__Output;
const started = () => ({ started: { model: 'm', seed: 1, totalSteps: 10, frames: 5, width: 32, height: 32, fps: 8, guidanceScale: 3, scheduler: 'euler' } }) as GenerateEvent__Output;
const progress = (step: number, totalSteps: number, elapsedSeconds: number, etaSeconds: number, stage = 'denoise') =>
  ({ progress: { step, totalSteps, elapsedSeconds, etaSeconds, stage } }) as GenerateEvent__Output;
const preview = () => ({ preview: { step: 1, totalSteps: 10, image: Buffer.alloc(0), mimeType: 'image/webp', width: 8, height: 8, frames: 1 } }) as GenerateEvent__Output;

function watch(liveness: Partial<LivenessOptions> = {}, probe?: () => Promise<unknown>) {
  const clock = new ManualClock();
  const expiries: WatchdogExpiry[] = [];
  const dog = new JobWatchdog({ clock, liveness: resolveLiveness(liveness), onExpire: (e) => expiries.push(e), ...(probe ? { probe } : {}) });
  dog.start();
  return { clock, dog, expiries };
}

describe('stall limits by phase', () => {
  it('before any event: firstEventStallMs, exactly', async () => {
    const { clock, expiries } = watch();
    await clock.advance(DEFAULT_LIVENESS.firstEventStallMs - 1);
    expect(expiries).toEqual([]);
    await clock.advance(1);
    expect(expiries).toEqual([{ kind: 'stalled', phase: 'connecting', silentMs: 30_000, limitMs: 30_000 }]);
  });

  it('denoising at a fast pace: the 20 s floor; every event restarts the silence', async () => {
    const { clock, dog, expiries } = watch();
    dog.observe(started());
    dog.observe(progress(1, 10, 0.1, 0.9));
    for (let i = 0; i < 5; i++) {
      await clock.advance(19_000);
      dog.observe(preview()); // a preview is a sign of life too
    }
    expect(expiries).toEqual([]);
    expect(dog.snapshot()).toMatchObject({ phase: 'denoising', stallLimitMs: 20_000 });
    await clock.advance(19_999);
    expect(expiries).toEqual([]);
    await clock.advance(1);
    expect(expiries).toEqual([{ kind: 'stalled', phase: 'denoising', silentMs: 20_000, limitMs: 20_000 }]);
  });

  it('denoising at a slow pace: 10 observed step times (the slower of the average and the last interval)', async () => {
    const { clock, dog, expiries } = watch();
    dog.observe(started());
    dog.observe(progress(1, 10, 5, 45)); // average 5 s per step
    expect(dog.snapshot().stallLimitMs).toBe(50_000);
    await clock.advance(8_000);
    dog.observe(progress(2, 10, 13, 52)); // average 6.5 s, but the last step took 8 s
    expect(dog.snapshot()).toMatchObject({ perStepMs: 8_000, stallLimitMs: 80_000 });
    await clock.advance(79_999);
    expect(expiries).toEqual([]);
    await clock.advance(1);
    expect(expiries).toMatchObject([{ kind: 'stalled', phase: 'denoising', limitMs: 80_000 }]);
  });

  it('between Started and the first step, and after the last step: the unpaced limit (model load, decode, encode)', async () => {
    const { clock, dog, expiries } = watch();
    dog.observe(started());
    expect(dog.snapshot()).toMatchObject({ phase: 'starting', stallLimitMs: 120_000 });
    await clock.advance(119_000);
    dog.observe(progress(1, 2, 119, 119));
    await clock.advance(1_000);
    dog.observe(progress(2, 2, 60, 0)); // the last step: decoding follows
    expect(dog.snapshot()).toMatchObject({ phase: 'finishing', stallLimitMs: 300_000 }); // 10 × 30 s average step
    dog.observe(progress(2, 2, 61, 0, 'encode'));
    expect(dog.phase).toBe('finishing');
    await clock.advance(299_999);
    expect(expiries).toEqual([]);
    await clock.advance(1);
    expect(expiries).toMatchObject([{ kind: 'stalled', phase: 'finishing' }]);
  });

  it('stop() ends the watch: nothing fires afterwards and no timer is left', async () => {
    const { clock, dog, expiries } = watch();
    dog.observe(started());
    dog.stop();
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(3_600_000);
    expect(expiries).toEqual([]);
  });

  it('expires once, even if events keep coming after', async () => {
    const { clock, dog, expiries } = watch({ firstEventStallMs: 1_000 });
    await clock.advance(5_000);
    dog.observe(progress(1, 10, 1, 9));
    await clock.advance(60_000);
    expect(expiries).toHaveLength(1);
  });
});

describe('deadline from the ETAs', () => {
  it('budget = floor + 3 × the latest ETA, recomputed at each ETA; it fires even while events keep coming', async () => {
    const { clock, dog, expiries } = watch();
    dog.observe(started());
    dog.observe(progress(1, 1000, 1, 100)); // ETA 100 s: budget 10 min + 300 s
    const t0 = clock.now();
    expect(dog.snapshot().deadlineAt - t0).toBe(600_000 + 300_000);
    // A daemon that keeps sending progress at a steady 1 s per step, while its ETA stays 100 s, never stalls...
    for (let i = 0; i < 899; i++) {
      await clock.advance(1_000);
      dog.observe(preview());
    }
    expect(expiries).toEqual([]);
    // ...but the deadline set by the last ETA passes.
    await clock.advance(1_000);
    expect(expiries).toMatchObject([{ kind: 'deadline', phase: 'denoising', budgetMs: 900_000 }]);
  });

  it('a later, shorter ETA brings the deadline closer, but never under the floor', async () => {
    const { clock, dog } = watch();
    dog.observe(queued(3, 600));
    expect(dog.snapshot().deadlineAt - clock.now()).toBe(600_000 + 1_800_000);
    dog.observe(started());
    expect(dog.snapshot().deadlineAt - clock.now()).toBe(600_000);
    dog.observe(progress(1, 2, 1, 1));
    expect(dog.snapshot().deadlineAt - clock.now()).toBe(603_000);
  });
});

describe('a silent queue', () => {
  it('waits max(60 s, 3 × ETA per position), then probes; an answering daemon keeps the job, a silent one ends it', async () => {
    let answer: 'alive' | 'dead' | 'hang' = 'alive';
    let probes = 0;
    const probe = () => {
      probes++;
      if (answer === 'alive') return Promise.resolve();
      if (answer === 'dead') return Promise.reject(new Error('UNAVAILABLE'));
      return new Promise<void>(() => {});
    };
    const { clock, dog, expiries } = watch({}, probe);
    dog.observe(queued(2, 80)); // 40 s per position: 3 × 40 = 120 s
    expect(dog.snapshot()).toMatchObject({ phase: 'queued', stallLimitMs: 120_000 });
    await clock.advance(119_999);
    expect(probes).toBe(0);
    await clock.advance(1);
    expect(probes).toBe(1);
    expect(expiries).toEqual([]);
    // Alive: another full limit before the next probe.
    await clock.advance(119_999);
    expect(probes).toBe(1);
    await clock.advance(1);
    expect(probes).toBe(2);
    // A probe that hangs counts as dead after probeTimeoutMs.
    answer = 'hang';
    await clock.advance(120_000);
    expect(probes).toBe(3);
    await clock.advance(9_999);
    expect(expiries).toEqual([]);
    await clock.advance(1);
    expect(expiries).toMatchObject([{ kind: 'stalled', phase: 'queued', limitMs: 120_000 }]);
  });

  it('a short ETA gets the 60 s floor; a refused probe ends the job at once', async () => {
    const { clock, dog, expiries } = watch({}, () => Promise.reject(new Error('down')));
    dog.observe(queued(1, 2));
    expect(dog.snapshot().stallLimitMs).toBe(60_000);
    await clock.advance(60_000);
    expect(expiries).toMatchObject([{ kind: 'stalled', phase: 'queued', silentMs: 60_000 }]);
  });

  it('an event during a probe proves life even if the probe then fails', async () => {
    let reject!: (e: Error) => void;
    const { clock, dog, expiries } = watch({}, () => new Promise((_, r) => (reject = r)));
    dog.observe(queued(1, 2));
    await clock.advance(60_000);
    dog.observe(queued(1, 1));
    reject(new Error('slow answer'));
    await clock.advance(0);
    expect(expiries).toEqual([]);
    expect(dog.phase).toBe('queued');
  });

  it('without a probe, a silent queue ends at its limit', async () => {
    const { clock, dog, expiries } = watch();
    dog.observe(queued(4, 400)); // 3 × 100 s
    await clock.advance(300_000);
    expect(expiries).toMatchObject([{ kind: 'stalled', phase: 'queued', limitMs: 300_000 }]);
  });
});

describe('options', () => {
  it('defaults are written once and merged; bad values are refused naming the option', () => {
    expect(resolveLiveness()).toEqual(DEFAULT_LIVENESS);
    expect(resolveLiveness({ stallFloorMs: 5_000 }).stallFloorMs).toBe(5_000);
    expect(() => resolveLiveness({ stallFloorMs: -1 })).toThrow(/"stallFloorMs" must be a positive number of milliseconds \(got -1\)/);
    expect(() => resolveLiveness({ stallStepMultiple: Number.NaN })).toThrow(/"stallStepMultiple" must be a positive number/);
    expect(() => resolveLiveness({ stalFloorMs: 1 } as never)).toThrow(/"stalFloorMs" is unknown; options: deadlineFloorMs, /);
  });
});
