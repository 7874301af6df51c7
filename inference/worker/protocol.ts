// Messages between the daemon's main thread and its onnxruntime worker threads.
import type { SessionOptions, TensorData, ValueInfo } from '../backend/onnx.ts';

export type WorkerRequest =
  | { id: number; op: 'load'; key: string; modelPath: string; options: SessionOptions }
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
