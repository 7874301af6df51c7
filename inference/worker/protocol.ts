// Messages between the daemon's main thread and its onnxruntime worker threads.
import type { SessionOptions, TensorData, ValueInfo } from '../backend/onnx.ts';
import type { StyledModelSource } from '../model/lora/styled-model.ts';
import type { Bf16EdgeSource } from '../model/bf16-edges.ts';

/** Where a session's graph comes from. */
export type ModelSource = string | Uint8Array | StyledModelSource | Bf16EdgeSource;

export type WorkerRequest =
  // modelPath: a file, the graph's bytes, or a styled transformer to merge here first (model/lora/styled-model.ts)
  | { id: number; op: 'load'; key: string; modelPath: ModelSource; options: SessionOptions }
  | { id: number; op: 'run'; key: string; feeds: Record<string, TensorData> }
  | { id: number; op: 'dispose'; key: string }
  | { id: number; op: 'crash' } // test hook: makes the worker exit abruptly
  | { id: number; op: 'stats' }; // test hook: what the thread has loaded

export type WorkerResponse =
  | { id: number; ok: true; op: 'load'; inputs: ValueInfo[]; outputs: ValueInfo[] }
  | { id: number; ok: true; op: 'run'; outputs: Record<string, TensorData>; runMs: number }
  | { id: number; ok: true; op: 'dispose' }
  | { id: number; ok: true; op: 'stats'; stats: WorkerStats }
  | { id: number; ok: false; error: string };

/** What one worker thread did (test hook): load requests it received, native sessions it created, sessions it holds. */
export interface WorkerStats {
  loadRequests: number;
  sessionsCreated: number;
  sessionsHeld: number;
}
