// The ONNX sessions of one model package, loaded into the inference worker and checked against the package
// contract (io-contract.ts). Loading is kept apart from the text-to-video loop (pipeline/text-to-video.ts) so that
// the model side never needs the pipeline: the registry loads and caches sessions, the pipeline only runs them.
import path from 'node:path';
import type { TensorData } from '../backend/onnx.ts';
import { ModelInvalidError } from '../errors.ts';
import type { OnnxWorkerClient } from '../worker/onnx-worker-client.ts';
import { CANNOT_CONVERT } from './bf16-edges.ts';
import { checkComponentIO } from './io-contract.ts';
import type { StyleSessionHost } from './lora/style-sessions.ts';
import type { ComponentName, ModelPackage } from './package.ts';

/** What one session.run gave back: the outputs and the pure run time measured inside the worker. */
export interface SessionRun {
  outputs: Record<string, TensorData>;
  runMs: number;
}

/**
 * Loads one component's graph under `key` and checks its inputs and outputs; returns the names of the optional
 * inputs the graph takes. A file onnxruntime cannot load is the package's fault: a ModelInvalidError naming it.
 * Shared by the served sessions (below) and the start-up check of the other packages (session-check.ts).
 */
export async function loadCheckedSession(pkg: ModelPackage, worker: OnnxWorkerClient, key: string, component: ComponentName): Promise<Set<string>> {
  const file = pkg.onnx[component];
  if (!file) return new Set();
  const rel = path.relative(pkg.dir, file).split(path.sep).join('/');
  const unloadable = (err: unknown) => new ModelInvalidError(pkg.dir, `${rel} cannot be loaded by onnxruntime (${err instanceof Error ? err.message : String(err)})`, { name: pkg.name, cause: err });
  const info = await worker.load(key, file).catch(async (err: unknown) => {
    // onnxruntime-node cannot feed or read a bf16 tensor (TensorProto type 16): the edges are converted to float32
    // with a Cast inside (bf16-edges.ts) and the converted graph is loaded instead.
    if (!/Unsupported data type: 16\b/.test(err instanceof Error ? err.message : String(err))) throw unloadable(err);
    return worker.load(key, { bf16Edges: { file, label: rel } }).catch((cause: unknown) => {
      const why = cause instanceof Error ? cause.message : String(cause);
      if (!why.includes(CANNOT_CONVERT)) throw unloadable(cause);
      throw new ModelInvalidError(pkg.dir, `${rel} has bfloat16 inputs or outputs, and ${why.slice(why.indexOf(CANNOT_CONVERT))}; export it with float16 or float32 at the graph's edges`, { name: pkg.name, cause });
    });
  });
  return checkComponentIO(pkg, component, info);
}

export class ModelSessions {
  private constructor(
    readonly pkg: ModelPackage,
    private readonly worker: OnnxWorkerClient,
    /** Whether the text encoder takes an attention_mask input (it is optional in the contract). */
    readonly hasAttentionMask: boolean,
  ) {}

  /** Loads every session of the package into the worker, one after another, and checks each against the contract. */
  static async load(pkg: ModelPackage, worker: OnnxWorkerClient): Promise<ModelSessions> {
    let hasMask = false;
    for (const component of Object.keys(pkg.onnx) as ComponentName[]) {
      const present = await loadCheckedSession(pkg, worker, sessionKey(pkg, component), component);
      if (component === 'text_encoder') hasMask = present.has('attention_mask');
    }
    return new ModelSessions(pkg, worker, hasMask);
  }

  /** One session.run of a session loaded under `key` by someone else (a styled transformer: lora/style-sessions.ts). */
  runKey(key: string, feeds: Record<string, TensorData>): Promise<SessionRun> {
    return this.worker.run(key, feeds);
  }

  /** The worker, as the style cache needs it: sessions created from merged bytes, and released. */
  get styleHost(): StyleSessionHost {
    return this.worker;
  }

  /** One session.run of a component in the worker. */
  run(component: ComponentName, feeds: Record<string, TensorData>): Promise<SessionRun> {
    return this.worker.run(sessionKey(this.pkg, component), feeds);
  }

  async dispose(): Promise<void> {
    for (const component of Object.keys(this.pkg.onnx) as ComponentName[]) await this.worker.dispose(sessionKey(this.pkg, component));
  }
}

/** Served sessions are keyed by content hash: two folders holding the same package share them. */
function sessionKey(pkg: ModelPackage, component: ComponentName): string {
  return `${pkg.hash}:${component}`;
}
