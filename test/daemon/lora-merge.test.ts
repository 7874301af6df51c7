// Styles merged into the weights (inference/model/lora/): the closed-form LoRA fixture's transformer run by real
// onnxruntime sessions built from merged bytes, against W + (alpha/r)·strength·B·A computed here; strength 0 against
// the base session; and the style cache's hits, misses and evictions, with the sessions the worker really holds.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TensorData } from '../../inference/backend/onnx.ts';
import { readModelPackage, type ModelPackage } from '../../inference/model/package.ts';
import { StyleSessionCache, styleStrengthKey } from '../../inference/model/lora/style-sessions.ts';
import { OnnxWorkerClient } from '../../inference/worker/onnx-worker-client.ts';
import { buildLoraFixturePackage, MIX_INITIALIZER, type LoraFixturePackage } from '../fixtures/lora-fixture.ts';

let dir: string;
let fixture: LoraFixturePackage;
let pkg: ModelPackage;
let worker: OnnxWorkerClient;

// One batch item: C = 4 channels, 1 frame, 2×2 latent; values chosen so every channel differs.
const SHAPE = [1, 4, 1, 2, 2];
const X = Float32Array.from({ length: 16 }, (_, i) => ((i * 7) % 11) / 8 - 0.6);
const TIMESTEP = 500;
const PROMPT = 'a red ball bounces on the grass';

function feeds(text: Float32Array): Record<string, TensorData> {
  const L = fixture.options.maxTextLength;
  const D = fixture.options.embedDim;
  return {
    hidden_states: { type: 'float32', dims: SHAPE, data: X },
    timestep: { type: 'float32', dims: [1], data: Float32Array.of(TIMESTEP) },
    encoder_hidden_states: { type: 'float32', dims: [1, L, D], data: text },
  };
}

async function run(key: string): Promise<Float32Array> {
  const { outputs } = await worker.run(key, feeds(fixture.textEmbedding(PROMPT)));
  return outputs.out_sample!.data as Float32Array;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lora-merge-'));
  fixture = await buildLoraFixturePackage(path.join(dir, 'fixture'));
  pkg = await readModelPackage(fixture.dir);
  worker = new OnnxWorkerClient({ executionProvider: 'cpu', intraOpThreads: 1 });
  await worker.load('base', pkg.onnx.denoiser);
});

afterAll(async () => {
  await worker?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a package with loras/', () => {
  it('lists its styles with their cards, and plans each merge onto the right initializer, transposed or not', () => {
    expect(pkg.styles.map((s) => [s.name, s.description, s.examplePrompt])).toEqual([
      ['ink', 'ink wash: black strokes on rice paper', 'a red ball bounces on the grass'],
      ['neon', 'neon outlines on black', 'a blue bird flies at night'],
    ]);
    const ink = pkg.styles[0]!.plan;
    expect(ink.scale).toBe(2);
    expect(ink.targets.map((t) => [t.module, t.initializer, t.transposed, t.out, t.in, t.rank])).toEqual([
      ['mix', MIX_INITIALIZER, true, 4, 4, 2],
      ['proj', 'proj.weight', false, 4, 4, 2],
    ]);
    expect(pkg.styles[1]!.plan.scale).toBe(0.5);
  });
});

describe('merged sessions', () => {
  it('give the closed form W + (alpha/r)·strength·B·A at strengths 0, 1 and 2; strength 0 is the base bit for bit', async () => {
    const cache = new StyleSessionCache(worker);
    const base = await run('base');
    // The base package is fixture-model.ts's transformer exactly (W_proj = I, W_mix = 0).
    expect(maxDiff(base, fixture.velocity(X, TIMESTEP, fixture.textEmbedding(PROMPT)))).toBeLessThan(1e-6);
    for (const style of fixture.styles) {
      for (const strength of [0, 1, 2]) {
        const lease = await cache.acquire(pkg, style.name, strength);
        const got = await run(lease.key);
        const want = fixture.styledVelocity(X, TIMESTEP, fixture.textEmbedding(PROMPT), style, strength);
        const err = maxDiff(got, want);
        const moved = maxDiff(got, base);
        console.log(`[lora-merge] ${style.name} @ ${strength}: |onnx − closed form| ≤ ${err.toExponential(2)}, |styled − base| = ${moved.toFixed(4)}`);
        expect(err).toBeLessThan(1e-5);
        if (strength === 0) expect(Array.from(got)).toEqual(Array.from(base));
        else expect(moved).toBeGreaterThan(0.05);
        lease.release();
      }
    }
    // ink at strength 1, element 0 in closed form, written out: a number, not only "differs".
    const ink1 = fixture.styledVelocity(X, TIMESTEP, fixture.textEmbedding(PROMPT), fixture.styles[0], 1);
    expect(ink1[0]!).toBeCloseTo((await run((await cache.acquire(pkg, 'ink', 1)).key))[0]!, 5);
    await cache.clear();
  });

  it('use strengths at the wire\'s step of 0.05: 0.7 sent as the float 0.699999988 shares the session of 0.7, at most 41 per style', () => {
    expect(styleStrengthKey(Math.fround(0.7))).toBe(0.7);
    expect(styleStrengthKey(1.001)).toBe(1);
    expect(styleStrengthKey(1.024)).toBe(1);
    expect(styleStrengthKey(1.026)).toBe(1.05);
    expect(styleStrengthKey(Math.fround(1.35))).toBe(1.35);
    // Cycling 0, 0.001, 0.002, … 2 (2001 strengths) lands on 41 sessions, each an exact multiple of the step.
    const keys = new Set(Array.from({ length: 2001 }, (_, i) => styleStrengthKey(Math.fround(i / 1000))));
    expect(keys.size).toBe(41);
    expect([...keys].every((k) => Number.isInteger(Math.round(k * 20)) && String(k).length <= 4)).toBe(true);
  });
});

describe('the style cache', () => {
  it('counts hits and misses, evicts the least recently used past its bound, and never a session in use', async () => {
    const probe = new StyleSessionCache(worker);
    (await probe.acquire(pkg, 'ink', 1)).release();
    const one = probe.stats.bytes;
    await probe.clear();
    console.log(`[lora-merge] one merged transformer: ${one} bytes`);
    expect(one).toBeGreaterThan(500);

    const before = (await worker.stats()).sessionsHeld;
    const cache = new StyleSessionCache(worker, { maxBytes: 2 * one });
    const take = async (style: string, strength: number) => (await cache.acquire(pkg, style, strength)).release();
    await take('ink', 1); // miss
    await take('ink', 1); // hit
    await take('neon', 1); // miss: two held, at the bound
    expect(cache.stats).toEqual({ hits: 1, misses: 2, evictions: 0, bytes: 2 * one, sessions: 2 });
    await take('ink', 1); // hit: ink is now the most recent
    await take('ink', 2); // miss: over the bound, neon (least recent) goes
    expect(cache.stats).toEqual({ hits: 2, misses: 3, evictions: 1, bytes: 2 * one, sessions: 2 });
    expect((await worker.stats()).sessionsHeld - before).toBe(2);
    await take('neon', 1); // miss again: it was evicted; ink @ 1 goes
    expect(cache.stats).toMatchObject({ hits: 2, misses: 4, evictions: 2, sessions: 2 });

    // Leases: with room for one, two in use are both kept; the first released is evicted then.
    const tight = new StyleSessionCache(worker, { maxBytes: one });
    const a = await tight.acquire(pkg, 'ink', 0.5);
    const b = await tight.acquire(pkg, 'neon', 0.5);
    expect(tight.stats).toEqual({ hits: 0, misses: 2, evictions: 0, bytes: 2 * one, sessions: 2 });
    expect((await run(a.key)).length).toBe(16);
    a.release();
    await new Promise((r) => setTimeout(r, 0));
    expect(tight.stats).toEqual({ hits: 0, misses: 2, evictions: 1, bytes: one, sessions: 1 });
    b.release();
    await cache.clear();
    await tight.clear();
    expect((await worker.stats()).sessionsHeld).toBe(before);
  });

  it('is merged in the worker thread from a description, so a worker crash rebuilds it and the numbers stay', async () => {
    const cache = new StyleSessionCache(worker);
    const lease = await cache.acquire(pkg, 'neon', 2);
    const before = await run(lease.key);
    worker.crash();
    // The first call after a crash may still reach the dying thread (WORKER_CRASHED): wait for the new one.
    for (;;) {
      try {
        expect((await worker.stats()).sessionsHeld).toBe(0);
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== 'WORKER_CRASHED') throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const after = await run(lease.key);
    expect(Array.from(after)).toEqual(Array.from(before));
    expect(maxDiff(after, fixture.styledVelocity(X, TIMESTEP, fixture.textEmbedding(PROMPT), fixture.styles[1], 2))).toBeLessThan(1e-5);
    lease.release();
    await cache.clear();
    await worker.load('base', pkg.onnx.denoiser);
  });

  it('never disposes a session a job took while an eviction was disposing another, and disposes each once', async () => {
    // A host whose loads and disposes wait for the test: the cache's own ordering is what is checked.
    const gate = () => {
      let open!: () => void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      return { promise, open };
    };
    let loadGate = gate();
    const disposeGate = gate();
    const loads: string[] = [];
    const disposed: string[] = [];
    loadGate.open();
    const host = {
      load: async (key: string) => {
        loads.push(key);
        await loadGate.promise;
      },
      dispose: async (key: string) => {
        disposed.push(key);
        await disposeGate.promise;
      },
    };
    const one = (await import('node:fs')).statSync(pkg.onnx.denoiser).size;
    const cache = new StyleSessionCache(host, { maxBytes: 2 * one });
    const keyOf = async (style: string, strength: number) => {
      const lease = await cache.acquire(pkg, style, strength);
      lease.release();
      return lease.key;
    };
    const x = await keyOf('ink', 1); // idle, the least recent
    const y = await keyOf('neon', 1); // idle: two held, at the bound
    loadGate = gate();
    // Two new styles load at once: four held, two over the bound, so one eviction pass would take x and then y.
    const a = cache.acquire(pkg, 'ink', 0.5);
    const b = cache.acquire(pkg, 'neon', 0.5);
    for (let i = 0; loads.length < 4 && i < 1000; i++) await new Promise((r) => setImmediate(r));
    loadGate.open();
    for (let i = 0; disposed.length < 1 && i < 1000; i++) await new Promise((r) => setImmediate(r));
    expect(disposed).toEqual([x]);
    // While x is being disposed, a job takes y (a cache hit): it must stay.
    const yLease = cache.acquire(pkg, 'neon', 1);
    disposeGate.open();
    const leases = await Promise.all([a, b, yLease]);
    console.log(`[lora-merge] eviction race: disposed ${disposed.length}, stats ${JSON.stringify(cache.stats)}`);
    expect(leases[2].key).toBe(y);
    expect(disposed).toEqual([x]);
    // Over its bound while three are leased (documented), with y counted once as a hit and x as one eviction.
    expect(cache.stats).toEqual({ hits: 1, misses: 4, evictions: 1, bytes: 3 * one, sessions: 3 });
    for (const l of leases) l.release();
    // y taken again before the queued evictions run: back under the bound, a (the least recent idle one) goes, once.
    await cache.acquire(pkg, 'neon', 1).then((l) => l.release());
    expect(disposed).toEqual([x, leases[0].key]);
    expect(cache.stats).toEqual({ hits: 2, misses: 4, evictions: 2, bytes: 2 * one, sessions: 2 });
  });

  it('refuses a style the package does not have, naming the model and its styles', async () => {
    const cache = new StyleSessionCache(worker);
    await expect(cache.acquire(pkg, 'chalk', 1)).rejects.toThrow('style: "chalk" is not a style of model "fixture"; its styles: ink, neon');
  });
});
