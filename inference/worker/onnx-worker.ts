// Worker thread body: owns onnxruntime sessions and runs them, so the main thread's event loop never blocks.
import { parentPort } from 'node:worker_threads';
import { createSession, disposeSession, runSession, type LoadedSession, type TensorData } from '../backend/onnx.ts';
import type { WorkerRequest, WorkerResponse } from './protocol.ts';

if (!parentPort) throw new Error('onnx-worker must run in a worker thread');
const port = parentPort;
const sessions = new Map<string, LoadedSession>();

function transferables(outputs: Record<string, TensorData>): ArrayBuffer[] {
  return Object.values(outputs).map((t) => t.data.buffer as ArrayBuffer);
}

async function handle(msg: WorkerRequest): Promise<void> {
  let reply: WorkerResponse;
  let transfer: ArrayBuffer[] = [];
  try {
    switch (msg.op) {
      case 'load': {
        const existing = sessions.get(msg.key);
        const loaded = existing ?? (await createSession(msg.modelPath, msg.options));
        sessions.set(msg.key, loaded);
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
        const loaded = sessions.get(msg.key);
        sessions.delete(msg.key);
        if (loaded) await disposeSession(loaded);
        reply = { id: msg.id, ok: true, op: 'dispose' };
        break;
      }
      case 'crash':
        process.exit(70);
    }
  } catch (err) {
    reply = { id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply, transfer);
}

port.on('message', (msg: WorkerRequest) => {
  void handle(msg);
});
