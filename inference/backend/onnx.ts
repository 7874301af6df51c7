// The one place onnxruntime lives (as transformers.js keeps it in backends/onnx.js): create, run, dispose.
// It is imported only by the worker thread, because session.run blocks the thread it runs on.
import * as ort from 'onnxruntime-node';

import type { EXECUTION_PROVIDERS } from '../../shared/config/variables.ts';
import { fromFloat16Array, toFloat16Array } from './half-float.ts';

// The providers the daemon accepts are listed once, with the settings they are chosen by.
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** A tensor as it crosses threads: plain typed arrays, transferable without copies. */
export interface TensorData {
  type: 'float32' | 'int64';
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface ValueInfo {
  name: string;
  type: string;
  /** Numbers for fixed dimensions, strings for symbolic ones; empty when the model does not say. */
  shape: Array<number | string>;
}

export interface SessionOptions {
  executionProvider: ExecutionProvider;
  /** Threads for one operator; 0 lets onnxruntime choose (all cores). */
  intraOpThreads: number;
}

export interface LoadedSession {
  session: ort.InferenceSession;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

function describe(meta: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
}

const NO_SPINNING = { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } };

/**
 * From a file's path, or from a graph's bytes: alone (then the graph can have no external data, there is no folder to
 * read it from) or with the folder its external data lies in (onnxruntime's external-initializers folder).
 */
export async function createSession(modelPath: string | Uint8Array | { bytes: Uint8Array; externalDataFolder: string }, options: SessionOptions): Promise<LoadedSession> {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [options.executionProvider],
    graphOptimizationLevel: 'all',
    // Deterministic results for a given input: no arena-dependent parallel reductions across runs.
    executionMode: 'sequential',
    // Idle onnxruntime threads must not spin: on a small machine they would take the CPU from the event loop.
    extra: { session: NO_SPINNING },
  };
  if (options.intraOpThreads > 0) sessionOptions.intraOpNumThreads = options.intraOpThreads;
  let session: ort.InferenceSession;
  if (typeof modelPath === 'string') session = await ort.InferenceSession.create(modelPath, sessionOptions);
  else if (modelPath instanceof Uint8Array) session = await ort.InferenceSession.create(modelPath, sessionOptions);
  else {
    const extra = { session: { ...NO_SPINNING, model_external_initializers_file_folder_path: modelPath.externalDataFolder } };
    session = await ort.InferenceSession.create(modelPath.bytes, { ...sessionOptions, extra });
  }
  return { session, inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) };
}

/**
 * Runs one session. The rest of the daemon speaks float32: a float32 feed for a float16 input is converted here
 * (round to nearest even), and float16 outputs come back as float32 (exact), so half precision stays at this edge.
 */
export async function runSession(loaded: LoadedSession, feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) {
    const wanted = loaded.inputs.find((i) => i.name === name)?.type;
    ortFeeds[name] = wanted === 'float16' && t.data instanceof Float32Array ? new ort.Tensor('float16', toFloat16Array(t.data), t.dims) : new ort.Tensor(t.type, t.data, t.dims);
  }
  const results = await loaded.session.run(ortFeeds);
  const out: Record<string, TensorData> = {};
  for (const [name, tensor] of Object.entries(results)) {
    if (tensor.type === 'float16') {
      out[name] = { type: 'float32', dims: [...tensor.dims], data: fromFloat16Array(tensor.data as Uint16Array) };
      continue;
    }
    if (tensor.type !== 'float32' && tensor.type !== 'int64') throw new Error(`output ${name} has type ${tensor.type}; only float32, float16 and int64 are supported`);
    // onnxruntime-node hands CPU outputs over in a JS-owned buffer: when the typed array spans it whole, the buffer
    // itself can be transferred to the main thread; otherwise copy it out first.
    const view = tensor.data as Float32Array | BigInt64Array;
    const whole = view.byteOffset === 0 && view.buffer.byteLength === view.byteLength && !(view.buffer instanceof SharedArrayBuffer);
    const data = whole ? view : tensor.type === 'float32' ? new Float32Array(view as Float32Array) : new BigInt64Array(view as BigInt64Array);
    out[name] = { type: tensor.type, dims: [...tensor.dims], data };
  }
  return out;
}

export async function disposeSession(loaded: LoadedSession): Promise<void> {
  await loaded.session.release();
}
