// Main-thread side of one onnxruntime worker thread. If the thread dies, every call in flight fails with
// WorkerCrashedError and a fresh thread takes over; sessions are loaded again on first use.
import { Worker } from 'node:worker_threads';
import type { SessionOptions, TensorData, ValueInfo } from '../backend/onnx.ts';
import { WorkerCrashedError, InferenceFailedError } from '../errors.ts';
import type { ModelSource, WorkerRequest, WorkerResponse, WorkerStats } from './protocol.ts';

const ENTRY = new URL('./entry.mjs', import.meta.url);

type Pending = { resolve: (r: WorkerResponse & { ok: true }) => void; reject: (e: Error) => void };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface SessionInfo {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export class OnnxWorkerClient {
  private worker!: Worker;
  private generation = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Sessions known to this client: reloaded into a new thread after a crash. */
  private readonly registered = new Map<string, { modelPath: ModelSource; info?: SessionInfo; loadedIn?: number }>();
  /**
   * Loads sent and not yet answered, by key, with the thread they went to: concurrent loads of one key (several
   * run()s after a crash, or two models sharing a file) share one request instead of each creating a session.
   */
  private readonly loading = new Map<string, { generation: number; promise: Promise<SessionInfo> }>();
  private closed = false;

  constructor(
    private readonly options: SessionOptions,
    private readonly onCrash: (message: string) => void = () => {},
  ) {
    this.spawn();
  }

  private spawn(): void {
    this.generation += 1;
    const generation = this.generation;
    const worker = new Worker(ENTRY);
    worker.on('message', (msg: WorkerResponse) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg);
      else p.reject(new InferenceFailedError(msg.error));
    });
    const fail = (why: string) => {
      if (generation !== this.generation) return;
      const error = new WorkerCrashedError(`the inference worker stopped (${why}); the request could not finish`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      this.loading.clear();
      if (!this.closed) {
        this.onCrash(why);
        this.spawn();
      }
    };
    worker.on('error', (err) => fail(err.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
    this.worker = worker;
  }

  private call(req: DistributiveOmit<WorkerRequest, 'id'>, transfer: ArrayBuffer[] = []): Promise<WorkerResponse & { ok: true }> {
    if (this.closed) return Promise.reject(new WorkerCrashedError('the inference worker is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id } as WorkerRequest, transfer);
    });
  }

  /** `modelPath`: the graph's file, its bytes, or a styled transformer to merge in the thread (kept to load again after a crash). */
  load(key: string, modelPath: ModelSource): Promise<SessionInfo> {
    const entry = this.registered.get(key);
    if (entry?.info && entry.loadedIn === this.generation) return Promise.resolve(entry.info);
    const inFlight = this.loading.get(key);
    if (inFlight?.generation === this.generation) return inFlight.promise;
    const generation = this.generation;
    const promise = this.call({ op: 'load', key, modelPath, options: this.options })
      .then((res) => {
        if (res.op !== 'load') throw new InferenceFailedError('unexpected worker reply to load');
        const info = { inputs: res.inputs, outputs: res.outputs };
        // Disposed (or the thread replaced) while loading: the answer is not this key's registration any more.
        if (this.loading.get(key)?.promise === promise) this.registered.set(key, { modelPath, info, loadedIn: generation });
        return info;
      })
      .finally(() => {
        if (this.loading.get(key)?.promise === promise) this.loading.delete(key);
      });
    this.loading.set(key, { generation, promise });
    return promise;
  }

  /** Runs a loaded session. Inputs are copied to the thread (not transferred), so callers may keep using them. */
  async run(key: string, feeds: Record<string, TensorData>): Promise<{ outputs: Record<string, TensorData>; runMs: number }> {
    const entry = this.registered.get(key);
    if (!entry) throw new InferenceFailedError(`session ${key} was never loaded`);
    if (entry.loadedIn !== this.generation) await this.load(key, entry.modelPath);
    const res = await this.call({ op: 'run', key, feeds });
    if (res.op !== 'run') throw new InferenceFailedError('unexpected worker reply to run');
    return { outputs: res.outputs, runMs: res.runMs };
  }

  async dispose(key: string): Promise<void> {
    const entry = this.registered.get(key);
    const loading = this.loading.get(key);
    this.registered.delete(key);
    this.loading.delete(key);
    // The thread disposes after any load of this key it is still running (onnx-worker.ts).
    if (entry?.loadedIn === this.generation || loading?.generation === this.generation) await this.call({ op: 'dispose', key });
  }

  /** Test hook: what the current thread has loaded. */
  async stats(): Promise<WorkerStats> {
    const res = await this.call({ op: 'stats' });
    if (res.op !== 'stats') throw new InferenceFailedError('unexpected worker reply to stats');
    return res.stats;
  }

  /** Test hook: makes the thread exit as a native crash would. */
  crash(): void {
    this.worker.postMessage({ id: 0, op: 'crash' } satisfies WorkerRequest);
  }

  /**
   * Takes no new calls, lets the calls already in the thread return, then ends the thread. onnxruntime cannot be
   * interrupted mid-run, and ending the thread (or the process) while a run is in flight aborts the whole process
   * natively ("terminate called after throwing an instance of 'Napi::Error'"), so a shutdown, even a forced one,
   * waits for the current call: one denoiser step at most.
   */
  async close(): Promise<void> {
    this.closed = true;
    const inThread = [...this.pending.values()].map((p) => new Promise<void>((settled) => {
      const { resolve, reject } = p;
      p.resolve = (r) => (settled(), resolve(r));
      p.reject = (e) => (settled(), reject(e));
    }));
    await Promise.all(inThread);
    await this.worker.terminate();
  }
}
