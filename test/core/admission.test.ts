// Admission alone (bots/core/admission.ts): the real ChatJobs, UsageLimiter, content filter and a ModelCatalog over
// an in-memory ListModels answer; `launch` records the job specs instead of streaming them, so each check, the
// variant seeds and ids, and the lease's bookkeeping can be read off exactly.
import { describe, expect, it } from 'vitest';
import type { Requester } from '../../bots/core/adapter.ts';
import { admit, duplicateOf, type AdmissionContext } from '../../bots/core/admission.ts';
import { ManualClock } from '../../bots/core/clock.ts';
import { createContentFilter } from '../../bots/core/content-filter.ts';
import { BotErrorCode } from '../../bots/core/errors.ts';
import { createIdSource } from '../../bots/core/ids.ts';
import type { JobSpec } from '../../bots/core/job-launch.ts';
import { ChatJobs, type JobRecord } from '../../bots/core/jobs.ts';
import { UsageLimiter } from '../../bots/core/limits.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { MAX_SEED } from '../../bots/core/options.ts';
import { handMadeJob, memoryCatalog, tinyModel } from '../helpers/core-parts.ts';
import { RecordingSurface } from '../helpers/recording-surface.ts';

const ann: Requester = { platform: 'plugin', userId: 'ann', channelId: 'c', serverId: 's' };

function setup(opts: { closing?: boolean; perUserConcurrent?: number; list?: boolean } = {}) {
  const clock = new ManualClock(1_000_000);
  const jobs = new ChatJobs();
  const limiter = new UsageLimiter({ perUserConcurrent: opts.perUserConcurrent ?? 4, perServerConcurrent: 0, perUserPerWindow: 0 }, clock);
  const { catalog } = memoryCatalog(clock, opts.list === false ? undefined : { defaultModel: 'tiny', models: [tinyModel('tiny'), tinyModel('other')] });
  const specs: JobSpec[] = [];
  const ctx: AdmissionContext = {
    jobs,
    catalog,
    limiter,
    filter: createContentFilter(),
    // random 0.5 → seed ⌊0.5·(MAX_SEED+1)⌋ and job id digits fixed.
    ids: createIdSource(clock, () => 0.5),
    logger: silentLogger,
    isClosing: () => opts.closing ?? false,
    launch: (spec) => {
      specs.push(spec);
      const { job } = handMadeJob(spec.id, spec.requester, spec.surface, spec.options, 'accepted');
      jobs.add(job, clock.now());
      return job;
    },
  };
  return { ctx, specs, limiter, jobs, clock };
}

describe('admission', () => {
  it('starts one job per variant with neighbouring seeds, `<id>.v<i>` ids and a spawned surface per extra variant', async () => {
    const { ctx, specs, limiter } = setup();
    const surface = new RecordingSurface();
    const result = await admit(ctx, surface, ann, { prompt: 'a ball', seed: MAX_SEED - 1, variants: 3 }, { requestId: 'req-1:x' });
    expect(result.error).toBeUndefined();
    expect(specs.map((s) => s.id)).toEqual(['req-1:x', 'req-1:x.v2', 'req-1:x.v3']);
    // The seeds wrap past MAX_SEED.
    expect(specs.map((s) => s.seed)).toEqual([MAX_SEED - 1, MAX_SEED, 0]);
    expect(specs.map((s) => s.options.variants)).toEqual([1, 1, 1]);
    expect(specs.map((s) => s.variant)).toEqual([{ index: 1, count: 3 }, { index: 2, count: 3 }, { index: 3, count: 3 }]);
    expect(specs[0]!.surface).toBe(surface);
    expect(specs[1]!.surface).toBe(surface.children[0]);
    expect(surface.spawnedWith.map((s) => s.label)).toEqual(['Variant 2 of 3', 'Variant 3 of 3']);
    expect(specs[0]!.model?.name).toBe('tiny');
    // The lease holds three slots until each job ends.
    expect(limiter.activeFor(ann)).toBe(3);
    for (const s of specs) s.onEnd();
    expect(limiter.activeFor(ann)).toBe(0);
  });

  it('clamps variants to 1..MAX_VARIANTS and picks one random base seed only when several are asked without one', async () => {
    const { ctx, specs } = setup({ perUserConcurrent: 0 });
    await admit(ctx, new RecordingSurface(), ann, { prompt: 'one', variants: 0 });
    expect(specs.map((s) => s.seed)).toEqual([undefined]);
    specs.length = 0;
    await admit(ctx, new RecordingSurface(), ann, { prompt: 'many', variants: 9 });
    const base = Math.floor(0.5 * (MAX_SEED + 1));
    expect(specs.map((s) => s.seed)).toEqual([base, base + 1, base + 2, base + 3]);
  });

  it('a repeated request id returns the first request’s jobs and starts nothing', async () => {
    const { ctx, specs, jobs } = setup();
    const first = await admit(ctx, new RecordingSurface(), ann, { prompt: 'a ball', variants: 2 }, { requestId: 'k' });
    const again = await admit(ctx, new RecordingSurface(), ann, { prompt: 'a ball', variants: 2 }, { requestId: 'k' });
    expect(specs).toHaveLength(2);
    expect(again.duplicate).toBe(true);
    expect(again.jobs.map((j) => j.id)).toEqual(first.jobs.map((j) => j.id));
    expect(duplicateOf(jobs, 'unknown')).toBeUndefined();
  });

  it('refuses with a code shown on the surface: filter, unknown model, model limits, usage, shutdown', async () => {
    const cases: Array<[Parameters<typeof admit>[3], string, ReturnType<typeof setup>]> = [
      [{ prompt: 'lots of gore', variants: 1 }, BotErrorCode.ContentRefused, setup()],
      [{ prompt: 'a ball', model: 'nope', variants: 1 }, BotErrorCode.UnknownModel, setup()],
      [{ prompt: 'a ball', steps: 99, variants: 1 }, BotErrorCode.InvalidOptions, setup()],
      [{ prompt: 'a ball', variants: 3 }, BotErrorCode.RateLimited, setup({ perUserConcurrent: 2 })],
      [{ prompt: 'a ball', variants: 1 }, BotErrorCode.Cancelled, setup({ closing: true })],
    ];
    for (const [options, code, { ctx, specs, limiter }] of cases) {
      const surface = new RecordingSurface();
      const result = await admit(ctx, surface, ann, options);
      expect(result.jobs, code).toHaveLength(0);
      expect(result.error?.code, code).toBe(code);
      expect(surface.failure?.code, code).toBe(code);
      expect(specs, code).toHaveLength(0);
      expect(limiter.activeFor(ann), code).toBe(0);
    }
  });

  it('unknown model list (daemon unreachable): options go unchecked by the bot and the job starts without a model', async () => {
    const { ctx, specs } = setup({ list: false });
    const result = await admit(ctx, new RecordingSurface(), ann, { prompt: 'a ball', steps: 99, model: 'anything', variants: 1 });
    expect(result.jobs).toHaveLength(1);
    expect(specs[0]!.model).toBeUndefined();
  });

  it('a variant whose surface cannot be opened is skipped and its lease slot given back', async () => {
    const { ctx, specs, limiter } = setup();
    const surface = new RecordingSurface();
    let spawns = 0;
    surface.spawn = async () => {
      spawns++;
      throw new Error('no thread');
    };
    const result = await admit(ctx, surface, ann, { prompt: 'a ball', seed: 10, variants: 3 });
    expect(spawns).toBe(2);
    expect(result.jobs.map((j: JobRecord) => j.id)).toHaveLength(1);
    expect(specs.map((s) => s.seed)).toEqual([10]);
    expect(limiter.activeFor(ann)).toBe(1);
    specs[0]!.onEnd();
    expect(limiter.activeFor(ann)).toBe(0);
  });

  it('a request key belongs to its requester and request: another person, or other settings, are refused; a retry is the same job', async () => {
    const { ctx, specs } = setup();
    const first = await admit(ctx, new RecordingSurface(), ann, { prompt: 'a ball', variants: 1 }, { requestId: 'evt-1' });
    expect(first.jobs).toHaveLength(1);
    const retry = await admit(ctx, new RecordingSurface(), ann, { prompt: 'a ball', variants: 1 }, { requestId: 'evt-1' });
    expect(retry.duplicate).toBe(true);
    expect(retry.jobs[0]).toBe(first.jobs[0]);
    const bob: Requester = { ...ann, userId: 'bob' };
    const bobSurface = new RecordingSurface();
    const stolen = await admit(ctx, bobSurface, bob, { prompt: 'a ball', variants: 1 }, { requestId: 'evt-1' });
    expect(stolen.jobs).toEqual([]);
    expect(stolen.error?.code).toBe(BotErrorCode.NotAllowed);
    expect(bobSurface.events.map((e) => e.kind)).toEqual(['fail']);
    const otherServer = await admit(ctx, new RecordingSurface(), { ...ann, serverId: 's2' }, { prompt: 'a ball', variants: 1 }, { requestId: 'evt-1' });
    expect(otherServer.error?.code).toBe(BotErrorCode.NotAllowed);
    const changed = await admit(ctx, new RecordingSurface(), ann, { prompt: 'a cube', variants: 1 }, { requestId: 'evt-1' });
    expect(changed.error?.code).toBe(BotErrorCode.InvalidState);
    // Nothing but the first request ever reached launch().
    expect(specs).toHaveLength(1);
  });

  it('request keys: safe ids are kept, others become digests that never collide', async () => {
    const { requestKey } = await import('../../bots/core/ids.ts');
    expect(requestKey('interaction-123:abc')).toBe('interaction-123:abc');
    expect(requestKey('a b')).not.toBe(requestKey('a_b'));
    expect(requestKey('a b')).toMatch(/^h-[A-Za-z0-9_-]{32}$/);
    expect(requestKey('x'.repeat(121))).not.toBe(requestKey('x'.repeat(122)));
    expect(requestKey('x.v2')).not.toBe('x.v2');
  });
});

