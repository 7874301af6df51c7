// The DenoiseBatcher alone, covered otherwise only end to end: steps of concurrent jobs joined into one denoiser
// call, each job's slice of the output and its share of the run time, FIFO order under the batch limit, shapes kept
// apart, a failed run failing only its own group, and one job's cancellation leaving the others' numbers intact.
// The denoiser at the edge is a fake runner computing the fixture model's closed-form velocity per item
// (fixture-closed-forms.ts), so every output is checked to the bit; a gate decides when each "session.run" returns,
// so the grouping does not depend on timing.
import { describe, expect, it } from 'vitest';
import type { TensorData } from '../../inference/backend/onnx.ts';
import { DenoiseBatcher, type DenoiseCall, type DenoiserRunner } from '../../inference/pipeline/denoise-batcher.ts';
import { closedFormVelocity, type DenoiserCoefficients } from '../fixtures/fixture-closed-forms.ts';

const K: DenoiserCoefficients = { alpha: -0.75, beta: 0.5, gamma: 0.25 };
/** Per item: latent [C, F, H, W] and text [L, D]. */
const LATENT = [2, 1, 2, 3];
const TEXT = [2, 2];
const N = LATENT.reduce((a, b) => a * b, 1);
const TEXT_N = TEXT.reduce((a, b) => a * b, 1);
/** Reported session.run time of every run, ms. */
const RUN_MS = 12;

/** The fixture denoiser for one item, as the graph computes it. */
function velocity(x: Float32Array, timestep: number, text: Float32Array, latent = LATENT, textDims = TEXT): Float32Array {
  return closedFormVelocity(x, timestep, text, latent[0]!, textDims[1]!, K);
}

interface SeenRun {
  items: number;
  timesteps: number[];
  /** First text value of each item: the tests give each job its own constant text, so this names the job. */
  owners: number[];
  hiddenDims: number[];
}

/** A fake denoiser session: every run waits until the test releases it; outputs are the closed form per item. */
class GatedRunner {
  readonly runs: SeenRun[] = [];
  private readonly waiting: Array<() => void> = [];
  failNext: Error | undefined;

  readonly run: DenoiserRunner = (feeds) => {
    const hidden = feeds.hidden_states!;
    const timestep = feeds.timestep!;
    const text = feeds.encoder_hidden_states!;
    const items = hidden.dims[0]!;
    const latent = hidden.dims.slice(1);
    const textDims = text.dims.slice(1);
    const n = latent.reduce((a, b) => a * b, 1);
    const m = textDims.reduce((a, b) => a * b, 1);
    const h = hidden.data as Float32Array;
    const t = timestep.data as Float32Array;
    const e = text.data as Float32Array;
    this.runs.push({ items, timesteps: Array.from(t), owners: Array.from({ length: items }, (_, b) => e[b * m]!), hiddenDims: [...hidden.dims] });
    const out = new Float32Array(items * n);
    for (let b = 0; b < items; b++) out.set(velocity(h.subarray(b * n, (b + 1) * n), t[b]!, e.subarray(b * m, (b + 1) * m), latent, textDims), b * n);
    const failure = this.failNext;
    this.failNext = undefined;
    const result = new Promise<{ outputs: Record<string, TensorData>; runMs: number }>((resolve, reject) => {
      this.waiting.push(() => (failure ? reject(failure) : resolve({ outputs: { velocity: { type: 'float32', dims: [items, ...latent], data: out } }, runMs: RUN_MS })));
    });
    return result;
  };

  /** Lets pending work reach the runner, then checks that `count` runs have started (no waiting on time). */
  async started(count: number): Promise<void> {
    await settle();
    expect(this.runs.length, 'runs started').toBe(count);
  }

  /** Lets the oldest held run return, then lets the batcher and its callers react. */
  async release(): Promise<void> {
    const next = this.waiting.shift();
    if (!next) throw new Error('no run is waiting');
    next();
    await settle();
  }

  get held(): number {
    return this.waiting.length;
  }
}

/** Enough turns of the microtask queue for resolved calls, their callers and the next pump to run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** A step of `batch` items: latent values from a seed, the job's own constant text (its marker), one timestep. */
function call(owner: number, seed: number, timestep: number, batch = 1): DenoiseCall {
  return {
    hiddenStates: Float32Array.from({ length: batch * N }, (_, i) => Math.fround(Math.sin(seed * 31 + i) / 2)),
    timesteps: new Float32Array(batch).fill(timestep),
    encoderHiddenStates: new Float32Array(batch * TEXT_N).fill(owner),
    batch,
  };
}

/** What the call alone should get back: the closed form of each of its items. */
function expected(c: DenoiseCall, latent = LATENT, textDims = TEXT): Float32Array {
  const n = latent.reduce((a, b) => a * b, 1);
  const m = textDims.reduce((a, b) => a * b, 1);
  const out = new Float32Array(c.batch * n);
  for (let b = 0; b < c.batch; b++) {
    out.set(velocity(c.hiddenStates.subarray(b * n, (b + 1) * n), c.timesteps[b]!, c.encoderHiddenStates.subarray(b * m, (b + 1) * m), latent, textDims), b * n);
  }
  return out;
}

describe('DenoiseBatcher', () => {
  it('a lone call runs at once with its own feeds and gets the whole output and run time', async () => {
    const gate = new GatedRunner();
    const batcher = new DenoiseBatcher(gate.run, 8);
    const c = call(0.25, 1, 999, 2);
    const pending = batcher.denoise(c, LATENT, TEXT);
    await gate.started(1);
    expect(gate.runs[0]).toEqual({ items: 2, timesteps: [999, 999], owners: [0.25, 0.25], hiddenDims: [2, ...LATENT] });
    await gate.release();
    const { output, runMs } = await pending;
    expect(output).toEqual(expected(c));
    expect(output.length).toBe(2 * N);
    expect(runMs).toBe(RUN_MS);
    expect(batcher.stats).toEqual({ calls: 1, runs: 1, runMs: RUN_MS, largestBatch: 2 });
  });

  it('steps that arrive while a run is busy are joined into one run; each job gets its own slice and share of time', async () => {
    const gate = new GatedRunner();
    const batcher = new DenoiseBatcher(gate.run, 8);
    const a = call(0.25, 1, 900, 2);
    const b = call(-0.5, 2, 800, 1);
    const c = call(0.125, 3, 700, 2);
    const pa = batcher.denoise(a, LATENT, TEXT);
    await gate.started(1);
    const pb = batcher.denoise(b, LATENT, TEXT);
    const pc = batcher.denoise(c, LATENT, TEXT);
    await settle();
    expect(gate.runs).toHaveLength(1); // b and c wait for the busy run
    await gate.release();
    await gate.started(2);
    // b and c in one run, in arrival order, each item with its own timestep and text.
    expect(gate.runs[1]).toEqual({ items: 3, timesteps: [800, 700, 700], owners: [-0.5, 0.125, 0.125], hiddenDims: [3, ...LATENT] });
    await gate.release();
    const [ra, rb, rc] = await Promise.all([pa, pb, pc]);
    expect(ra.output).toEqual(expected(a));
    expect(rb.output).toEqual(expected(b));
    expect(rc.output).toEqual(expected(c));
    // The joined run's time is shared by items: 1 of 3 and 2 of 3.
    expect(ra.runMs).toBe(RUN_MS);
    expect(rb.runMs).toBe(RUN_MS / 3);
    expect(rc.runMs).toBe((2 * RUN_MS) / 3);
    expect(batcher.stats).toEqual({ calls: 3, runs: 2, runMs: 2 * RUN_MS, largestBatch: 3 });
  });

  it('never exceeds the batch limit and keeps first-come order across runs', async () => {
    const gate = new GatedRunner();
    const batcher = new DenoiseBatcher(gate.run, 4);
    const first = batcher.denoise(call(1, 0, 999, 2), LATENT, TEXT);
    await gate.started(1);
    const queued = [2, 3, 4, 5].map((owner) => call(owner, owner, 100 * owner, 2));
    const results = queued.map((c) => batcher.denoise(c, LATENT, TEXT));
    for (let run = 1; run < 3; run++) {
      await gate.release();
      await gate.started(run + 1);
    }
    await gate.release();
    expect(gate.runs.map((r) => r.owners)).toEqual([
      [1, 1],
      [2, 2, 3, 3],
      [4, 4, 5, 5],
    ]);
    expect(gate.runs.every((r) => r.items <= 4)).toBe(true);
    await first;
    const outputs = await Promise.all(results);
    outputs.forEach((r, i) => expect(r.output).toEqual(expected(queued[i]!)));
    expect(batcher.stats).toEqual({ calls: 5, runs: 3, runMs: 3 * RUN_MS, largestBatch: 4 });
  });

  it('a call larger than the limit still runs, alone', async () => {
    const gate = new GatedRunner();
    const batcher = new DenoiseBatcher(gate.run, 2);
    const big = call(7, 7, 500, 3);
    const pending = batcher.denoise(big, LATENT, TEXT);
    await gate.started(1);
    await gate.release();
    expect((await pending).output).toEqual(expected(big));
    expect(gate.runs[0]!.items).toBe(3);
  });

  it('calls of another shape are not mixed in: the head shape runs first, the other waits its turn', async () => {
    const gate = new GatedRunner();
    const batcher = new DenoiseBatcher(gate.run, 8);
    const small = [2, 1, 2, 3];
    const wide = [2, 1, 2, 4];
    const p0 = batcher.denoise(call(1, 1, 999), small, TEXT);
    await gate.started(1);
    const b = call(2, 2, 800);
    const x: DenoiseCall = { ...call(3, 3, 700), hiddenStates: Float32Array.from({ length: 16 }, (_, i) => i / 16) };
    const c = call(4, 4, 600);
    const pb = batcher.denoise(b, small, TEXT);
    const px = batcher.denoise(x, wide, TEXT);
    const pc = batcher.denoise(c, small, TEXT);
    await gate.release();
    await gate.started(2);
    await gate.release();
    await gate.started(3);
    await gate.release();
    expect(gate.runs.map((r) => [r.owners, r.hiddenDims])).toEqual([
      [[1], [1, ...small]],
      [[2, 4], [2, ...small]],
      [[3], [1, ...wide]],
    ]);
    await p0;
    expect((await pb).output).toEqual(expected(b, small));
    expect((await pc).output).toEqual(expected(c, small));
    expect((await px).output).toEqual(expected(x, wide));
    expect((await px).output.length).toBe(16);
  });

  it('a failed run rejects only the calls in it; the next group runs normally', async () => {
    const gate = new GatedRunner();
    const batcher = new DenoiseBatcher(gate.run, 2);
    const p0 = batcher.denoise(call(1, 1, 999), LATENT, TEXT);
    await gate.started(1);
    const pa = batcher.denoise(call(2, 2, 900), LATENT, TEXT);
    const pb = batcher.denoise(call(3, 3, 900), LATENT, TEXT);
    const later = call(4, 4, 800);
    const pc = batcher.denoise(later, LATENT, TEXT);
    gate.failNext = new Error('session.run failed');
    await gate.release(); // run 1 ends; run 2 (a + b) starts and will fail
    await gate.started(2);
    const settledAB = Promise.allSettled([pa, pb]);
    await gate.release();
    await gate.started(3);
    await gate.release();
    await p0;
    expect((await settledAB).map((s) => (s.status === 'rejected' ? (s.reason as Error).message : 'ok'))).toEqual(['session.run failed', 'session.run failed']);
    expect((await pc).output).toEqual(expected(later));
    expect(gate.runs.map((r) => r.owners)).toEqual([[1], [2, 3], [4]]);
  });

  it('a denoiser without a float32 output rejects its calls with a message', async () => {
    const batcher = new DenoiseBatcher(async () => ({ outputs: { velocity: { type: 'int64', dims: [1], data: new BigInt64Array(1) } }, runMs: 1 }), 8);
    await expect(batcher.denoise(call(1, 1, 1), LATENT, TEXT)).rejects.toThrow('the denoiser returned no float32 output');
  });

  it("cancelling one job's loop stops its steps; the other job's steps keep batching and give the same numbers as alone", async () => {
    const gate = new GatedRunner();
    const batcher = new DenoiseBatcher(gate.run, 8);
    const steps = 5;
    // A job loop as TextToVideo runs it: check the signal, submit the step (cond + uncond), integrate x.
    async function job(owner: number, seed: number, signal: AbortSignal, onStep: (i: number) => void, denoise: (c: DenoiseCall) => Promise<Float32Array>) {
      let x = call(owner, seed, 0, 2).hiddenStates.slice(0, N);
      for (let i = 0; i < steps; i++) {
        if (signal.aborted) throw signal.reason;
        const hidden = new Float32Array(2 * N);
        hidden.set(x);
        hidden.set(x, N);
        const out = await denoise({ hiddenStates: hidden, timesteps: new Float32Array(2).fill(1000 - 200 * i), encoderHiddenStates: new Float32Array(2 * TEXT_N).fill(owner), batch: 2 });
        x = Float32Array.from(x, (v, k) => Math.fround(v - 0.2 * out[k]!));
        onStep(i);
      }
      return x;
    }
    const viaBatcher = (c: DenoiseCall) => batcher.denoise(c, LATENT, TEXT).then((r) => r.output);
    const direct = async (c: DenoiseCall) => expected(c);
    const never = new AbortController().signal;
    const aloneB = await job(-0.5, 2, never, () => {}, direct);

    const cancelA = new AbortController();
    const reason = new Error('cancelled by its requester');
    // A third party's step holds the denoiser while both jobs submit their first step, so those two share a run.
    const blocker = batcher.denoise(call(9, 9, 999), LATENT, TEXT);
    await gate.started(1);
    const a = job(0.25, 1, cancelA.signal, (i) => i === 1 && cancelA.abort(reason), viaBatcher);
    const aSettled = a.then(
      () => 'finished',
      (err: unknown) => (err === reason ? 'cancelled' : `failed: ${String(err)}`),
    );
    const b = job(-0.5, 2, never, () => {}, viaBatcher);
    // Drive the gate until both loops are done: every run is let through one at a time.
    let done = false;
    void Promise.allSettled([a, b]).then(() => (done = true));
    await settle();
    while (!done) {
      if (gate.held === 0) throw new Error('no run is waiting but the jobs are not done');
      await gate.release();
    }
    await blocker;
    expect(gate.runs[1]!.owners).toEqual([0.25, 0.25, -0.5, -0.5]);
    expect(await aSettled).toBe('cancelled');
    expect(await b).toEqual(aloneB);
    const itemsOf = (owner: number) => gate.runs.reduce((n, r) => n + r.owners.filter((o) => o === owner).length, 0);
    expect(itemsOf(0.25)).toBe(2 * 2); // steps 0 and 1 of A (cond + uncond), none after its cancellation
    expect(itemsOf(-0.5)).toBe(steps * 2);
    expect(gate.runs.some((r) => r.owners.includes(0.25) && r.owners.includes(-0.5))).toBe(true); // they did share runs
    const lastA = gate.runs.findLastIndex((r) => r.owners.includes(0.25));
    expect(gate.runs.slice(lastA + 1).every((r) => r.owners.every((o) => o === -0.5))).toBe(true);
    expect(batcher.stats.calls).toBe(1 + 2 + steps);
  });
});
