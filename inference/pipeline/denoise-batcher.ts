// Step-level batching: denoiser calls from different jobs with the same latent shape, each at its own step,
// are concatenated along the batch axis into one session.run while the worker is busy with the previous one
// (the way GPU inference servers batch diffusion steps). With one job running it adds nothing but a queue hop.
import type { TensorData } from '../backend/onnx.ts';

export interface DenoiseCall {
  /** [b, C, F, H, W] */
  hiddenStates: Float32Array;
  /** [b], or [b, T] with one timestep per patch token (the package's timestep_shape "tokens"). */
  timesteps: Float32Array;
  /** [b, L, D] */
  encoderHiddenStates: Float32Array;
  batch: number;
}

interface Pending extends DenoiseCall {
  shapeKey: string;
  itemDims: { latent: number[]; text: number[]; timestep: number[] };
  resolve: (v: DenoiseResult) => void;
  reject: (e: unknown) => void;
}

export interface DenoiseResult {
  /** [b, C, F, H, W] velocities of this call's items. */
  output: Float32Array;
  /** This call's share of the session.run time (by items, when batched with others). */
  runMs: number;
}

export type DenoiserRunner = (feeds: Record<string, TensorData>) => Promise<{ outputs: Record<string, TensorData>; runMs: number }>;

export interface BatchStats {
  calls: number;
  runs: number;
  /** Sum of pure session.run times measured inside the worker. */
  runMs: number;
  largestBatch: number;
}

export class DenoiseBatcher {
  private readonly queue: Pending[] = [];
  private busy = false;
  readonly stats: BatchStats = { calls: 0, runs: 0, runMs: 0, largestBatch: 0 };

  constructor(
    private readonly run: DenoiserRunner,
    /** Largest batch one session.run may take (items, cond and uncond counted separately). */
    private readonly maxBatch: number,
  ) {}

  /** `timestepItemDims` is [] for a timestep per item, [T] for one per token. */
  denoise(call: DenoiseCall, latentItemDims: number[], textItemDims: number[], timestepItemDims: number[] = []): Promise<DenoiseResult> {
    return new Promise((resolve, reject) => {
      const shapeKey = `${latentItemDims.join('x')}|${textItemDims.join('x')}|${timestepItemDims.join('x')}`;
      this.queue.push({ ...call, shapeKey, itemDims: { latent: latentItemDims, text: textItemDims, timestep: timestepItemDims }, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.busy || this.queue.length === 0) return;
    const head = this.queue[0]!;
    const group: Pending[] = [];
    let items = 0;
    for (let i = 0; i < this.queue.length; ) {
      const p = this.queue[i]!;
      if (p.shapeKey === head.shapeKey && (group.length === 0 || items + p.batch <= this.maxBatch)) {
        group.push(p);
        items += p.batch;
        this.queue.splice(i, 1);
      } else i++;
    }
    this.busy = true;
    void this.execute(group, items).finally(() => {
      this.busy = false;
      this.pump();
    });
  }

  private async execute(group: Pending[], items: number): Promise<void> {
    const head = group[0]!;
    const concat = (pick: (p: Pending) => Float32Array): Float32Array => {
      if (group.length === 1) return pick(head);
      const total = group.reduce((n, p) => n + pick(p).length, 0);
      const out = new Float32Array(total);
      let offset = 0;
      for (const p of group) {
        out.set(pick(p), offset);
        offset += pick(p).length;
      }
      return out;
    };
    const feeds: Record<string, TensorData> = {
      hidden_states: { type: 'float32', dims: [items, ...head.itemDims.latent], data: concat((p) => p.hiddenStates) },
      timestep: { type: 'float32', dims: [items, ...head.itemDims.timestep], data: concat((p) => p.timesteps) },
      encoder_hidden_states: { type: 'float32', dims: [items, ...head.itemDims.text], data: concat((p) => p.encoderHiddenStates) },
    };
    this.stats.calls += group.length;
    this.stats.runs += 1;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, items);
    try {
      const { outputs, runMs } = await this.run(feeds);
      this.stats.runMs += runMs;
      const out = Object.values(outputs)[0];
      if (!out || !(out.data instanceof Float32Array)) throw new Error('the denoiser returned no float32 output');
      const perItem = out.data.length / items;
      let offset = 0;
      for (const p of group) {
        p.resolve({ output: out.data.subarray(offset * perItem, (offset + p.batch) * perItem), runMs: (runMs * p.batch) / items });
        offset += p.batch;
      }
    } catch (err) {
      for (const p of group) p.reject(err);
    }
  }
}
