// Worker thread body: owns onnxruntime sessions and runs them, so the main thread's event loop never blocks.
import { parentPort } from 'node:worker_threads';
import { createSession, disposeSession, runSession, type LoadedSession, type SessionOptions, type TensorData } from '../backend/onnx.ts';
import { buildStyledModel, isStyledModelSource } from '../model/lora/styled-model.ts';
import { buildBf16EdgeModel, isBf16EdgeSource } from '../model/bf16-edges.ts';
import type { ModelSource, WorkerRequest, WorkerResponse, WorkerStats } from './protocol.ts';

if (!parentPort) throw new Error('onnx-worker must run in a worker thread');
const port = parentPort;
const sessions = new Map<string, LoadedSession>();
/**
 * Sessions being created, by key: a second load of the same key waits for the first instead of creating a second
 * native session (which would replace the first in `sessions` and leak it, memory and all).
 */
const loading = new Map<string, Promise<LoadedSession>>();
const stats: WorkerStats = { loadRequests: 0, sessionsCreated: 0, sessionsHeld: 0 };

function loadSession(key: string, modelPath: ModelSource, options: SessionOptions): Promise<LoadedSession> {
  const loaded = sessions.get(key);
  if (loaded) return Promise.resolve(loaded);
  let pending = loading.get(key);
  if (!pending) {
    stats.sessionsCreated += 1;
    // A styled transformer is merged here, off the main thread's event loop.
    // So is a graph whose bf16 edges are converted to float32 (model/bf16-edges.ts).
    pending = (isStyledModelSource(modelPath) ? buildStyledModel(modelPath) : isBf16EdgeSource(modelPath) ? buildBf16EdgeModel(modelPath) : Promise.resolve(modelPath))
      .then((source) => createSession(source, options))
      .then((created) => {
        sessions.set(key, created);
        return created;
      })
      .finally(() => loading.delete(key));
    loading.set(key, pending);
  }
  return pending;
}

function transferables(outputs: Record<string, TensorData>): ArrayBuffer[] {
  return Object.values(outputs).map((t) => t.data.buffer as ArrayBuffer);
}

async function handle(msg: WorkerRequest): Promise<void> {
  let reply: WorkerResponse;
  let transfer: ArrayBuffer[] = [];
  try {
    switch (msg.op) {
      case 'load': {
        stats.loadRequests += 1;
        const loaded = await loadSession(msg.key, msg.modelPath, msg.options);
        reply = { id: msg.id, ok: true, op: 'load', inputs: loaded.inputs, outputs: loaded.outputs };
        break;
      }
      case 'run': {
        const loaded = sessions.get(msg.key);
        if (!loaded) throw new Error(`session ${msg.key} is not loaded in this worker`);
        const started = performance.now();
        const outputs = await runSession(loaded, msg.feeds);
        reply = { id: msg.id, ok: true, op: 'run', outputs, runMs: performance.now() - started };
        transfer = transferables(outputs);
        break;
      }
      case 'dispose': {
        // A load still under way ends first, so that the session it makes is the one disposed, not left behind.
        await loading.get(msg.key)?.catch(() => undefined);
        const loaded = sessions.get(msg.key);
        sessions.delete(msg.key);
        if (loaded) await disposeSession(loaded);
        reply = { id: msg.id, ok: true, op: 'dispose' };
        break;
      }
      case 'crash':
        process.exit(70);
      case 'stats':
        reply = { id: msg.id, ok: true, op: 'stats', stats: { ...stats, sessionsHeld: sessions.size } };
        break;
    }
  } catch (err) {
    reply = { id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply, transfer);
}

port.on('message', (msg: WorkerRequest) => {
  void handle(msg);
});
