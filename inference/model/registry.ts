// The models a daemon serves: packages found in the models folder (and explicit folders), read and validated at
// start, their onnxruntime sessions loaded on first use. A broken package is reported, not fatal, unless it is the
// default model.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ModelInvalidError, ModelNotFoundError, asDaemonError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { ModelRuntime, type RuntimeOptions } from '../pipeline/model-runtime.ts';
import type { OnnxWorkerClient } from '../worker/onnx-worker-client.ts';
import { readModelPackage, type ModelPackage } from './package.ts';

interface Entry {
  dir: string;
  pkg?: ModelPackage;
  problem?: ModelInvalidError;
  runtime?: Promise<ModelRuntime> | undefined;
}

export class ModelRegistry {
  private readonly entries = new Map<string, Entry>();

  private constructor(
    private readonly worker: OnnxWorkerClient,
    private readonly log: Logger,
    private readonly runtimeOptions: RuntimeOptions,
    readonly defaultModel: string,
  ) {}

  static async open(options: { modelsDir?: string | undefined; modelDirs?: string[] | undefined; defaultModel?: string | undefined; preferredDefault?: string; worker: OnnxWorkerClient; log: Logger; runtimeOptions?: RuntimeOptions }): Promise<ModelRegistry> {
    const dirs = [...(options.modelDirs ?? [])].map((d) => path.resolve(d));
    if (options.modelsDir) {
      const root = path.resolve(options.modelsDir);
      // The folder may itself be one package; otherwise each sub-folder (or link to one) holding a model_index.json is.
      if (existsSync(path.join(root, 'model_index.json'))) dirs.push(root);
      else if (existsSync(root)) {
        for (const name of await readdir(root)) {
          if (existsSync(path.join(root, name, 'model_index.json'))) dirs.push(path.join(root, name));
        }
      }
    }
    const pkgs: Entry[] = [];
    for (const dir of dirs) {
      try {
        pkgs.push({ dir, pkg: await readModelPackage(dir) });
      } catch (err) {
        const problem = err instanceof ModelInvalidError ? err : new ModelInvalidError(dir, (err as Error).message);
        pkgs.push({ dir, problem });
        options.log.warn('model package skipped', { dir, problem: problem.message });
      }
    }
    const names = (e: Entry) => e.pkg?.name ?? path.basename(e.dir);
    if (pkgs.length === 0) {
      const where = [options.modelsDir, ...(options.modelDirs ?? [])].filter(Boolean).map((d) => path.resolve(d!)).join(', ');
      throw new ModelInvalidError(where || '(no folder given)', 'no model package was found there (a package is a folder with model_index.json; set ANIMATE_MODELS_DIR / --models-dir)');
    }
    const preferred = options.preferredDefault && pkgs.some((e) => names(e) === options.preferredDefault) ? options.preferredDefault : undefined;
    const defaultModel = options.defaultModel ?? preferred ?? names(pkgs[0]!);
    const registry = new ModelRegistry(options.worker, options.log, options.runtimeOptions ?? {}, defaultModel);
    for (const e of pkgs) registry.entries.set(names(e), e);
    const def = registry.entries.get(defaultModel);
    if (!def) throw new ModelNotFoundError(defaultModel || '(none)', registry.names());
    if (def.problem) throw def.problem;
    return registry;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Packages that passed validation, default first. */
  packages(): ModelPackage[] {
    const list = [...this.entries.values()].flatMap((e) => (e.pkg ? [e.pkg] : []));
    return list.sort((a, b) => Number(b.name === this.defaultModel) - Number(a.name === this.defaultModel));
  }

  package(name: string): ModelPackage {
    const key = name || this.defaultModel;
    const entry = this.entries.get(key);
    if (!entry) throw new ModelNotFoundError(key, this.names());
    if (entry.problem || !entry.pkg) throw entry.problem ?? new ModelInvalidError(entry.dir, 'unreadable');
    return entry.pkg;
  }

  /** Loads the model's sessions once; later calls share the same runtime. A failed load is retried next time. */
  runtime(name: string): Promise<ModelRuntime> {
    const pkg = this.package(name);
    const entry = this.entries.get(pkg.name)!;
    if (!entry.runtime) {
      const started = performance.now();
      entry.runtime = ModelRuntime.load(pkg, this.worker, this.runtimeOptions).then(
        (rt) => {
          this.log.info('model loaded', { model: pkg.name, ms: performance.now() - started, hash: pkg.hash.slice(0, 12) });
          return rt;
        },
        (err: unknown) => {
          entry.runtime = undefined;
          throw err instanceof ModelInvalidError ? err : asDaemonError(err, (m) => new ModelInvalidError(pkg.dir, m));
        },
      );
    }
    return entry.runtime;
  }
}
