// The start-up check of a package the daemon does not load yet: onnxruntime creates each of its sessions (which
// parses the whole graph and its weights, so a truncated or garbage model.onnx fails here), their inputs and outputs
// are checked against the package contract (io-contract.ts, the same load-and-check as sessions.ts), and the sessions
// are released again. Cheaper checks (reading only the protobuf's input list) would pass a file cut off in its
// weights; this one is what the first request would do. Components are checked one after another, so at most one
// extra session is held at a time.
import path from 'node:path';
import { DaemonError, ModelInvalidError } from '../errors.ts';
import type { OnnxWorkerClient } from '../worker/onnx-worker-client.ts';
import type { ComponentName, ModelPackage } from './package.ts';
import { loadCheckedSession } from './sessions.ts';

/** Session keys of the check never collide with the served ones (`<hash>:<component>`), even for identical packages. */
function checkKey(pkg: ModelPackage, component: ComponentName): string {
  return `check:${pkg.dir}:${component}`;
}

/** Resolves when every ONNX graph of the package loads and fits the contract; rejects with a ModelInvalidError. */
export async function checkPackageSessions(pkg: ModelPackage, worker: OnnxWorkerClient): Promise<void> {
  for (const component of Object.keys(pkg.onnx) as ComponentName[]) {
    const file = pkg.onnx[component];
    if (!file) continue;
    const key = checkKey(pkg, component);
    const rel = path.relative(pkg.dir, file).split(path.sep).join('/');
    try {
      await loadCheckedSession(pkg, worker, key, component);
    } catch (err) {
      if (err instanceof ModelInvalidError) throw err.named(pkg.name);
      // A worker crash while loading is the package's fault too: the file made onnxruntime abort.
      const why = err instanceof DaemonError || err instanceof Error ? err.message : String(err);
      throw new ModelInvalidError(pkg.dir, `${rel} could not be checked (${why})`, { name: pkg.name, cause: err });
    } finally {
      await worker.dispose(key).catch(() => {});
    }
  }
}
