// The models a daemon serves: packages found in the models folder (and explicit folders), read, validated and their
// ONNX graphs checked by onnxruntime at start (session-check.ts), so ListModels lists only packages that can run.
// A broken package is reported in the log with its folder and cause and left out, not fatal, unless it is the
// default model (whose sessions the daemon loads at start and keeps). Two folders claiming one name: the first
// found keeps it, the other is refused with a warning naming both.
// A served model's sessions are loaded once (sessions.ts) and handed to `serve`, which builds what runs them (the
// daemon: a TextToVideo pipeline); the registry caches that, so it knows nothing of the pipeline itself.
import { existsSync, realpathSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, ModelInvalidError, ModelNotFoundError, asDaemonError } from '../errors.ts';
import type { DaemonLogger } from '../log.ts';
import type { OnnxWorkerClient } from '../worker/onnx-worker-client.ts';
import { readModelPackage, type ModelPackage } from './package.ts';
import { checkPackageSessions } from './session-check.ts';
import { ModelSessions } from './sessions.ts';

interface Entry<Served> {
  dir: string;
  pkg?: ModelPackage;
  problem?: ModelInvalidError;
  served?: Promise<Served> | undefined;
}

export interface RegistryOptions<Served> {
  /** A package folder, or a folder whose sub-folders (or links to them) are packages. */
  modelsDir?: string | undefined;
  /** Package folders named one by one (DaemonOptions.modelDirs); they come before the models folder's packages. */
  modelDirs?: string[] | undefined;
  /** The model used when a request names none. Default: `preferredDefault` when served, else the first package found. */
  defaultModel?: string | undefined;
  preferredDefault?: string;
  worker: OnnxWorkerClient;
  log: DaemonLogger;
  /** Builds what serves a model from its loaded sessions; called once per model, on its first load. */
  serve: (sessions: ModelSessions) => Served;
}

/** Folder of one package, for the log: its real path when it is reached through a link. */
function realDir(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

/**
 * Package folders in the order that decides who keeps a name: the explicit folders as given, then the models
 * folder's packages by folder name (readdir's order is the file system's, not stable). One folder reached twice
 * (an explicit folder inside the models folder, or a link) counts once.
 */
async function packageDirs(options: Pick<RegistryOptions<unknown>, 'modelsDir' | 'modelDirs'>): Promise<string[]> {
  const dirs = [...(options.modelDirs ?? [])].map((d) => path.resolve(d));
  if (options.modelsDir) {
    const root = path.resolve(options.modelsDir);
    if (existsSync(path.join(root, 'model_index.json'))) dirs.push(root);
    else if (existsSync(root)) {
      for (const name of (await readdir(root)).sort()) {
        if (existsSync(path.join(root, name, 'model_index.json'))) dirs.push(path.join(root, name));
      }
    }
  }
  const seen = new Set<string>();
  return dirs.filter((d) => {
    const real = realDir(d);
    if (seen.has(real)) return false;
    seen.add(real);
    return true;
  });
}

export class ModelRegistry<Served> {
  private readonly entries = new Map<string, Entry<Served>>();

  private constructor(
    private readonly worker: OnnxWorkerClient,
    private readonly log: DaemonLogger,
    private readonly serve: (sessions: ModelSessions) => Served,
    readonly defaultModel: string,
  ) {}

  static async open<Served>(options: RegistryOptions<Served>): Promise<ModelRegistry<Served>> {
    const { log } = options;
    const byName = new Map<string, Entry<Served>>();
    for (const dir of await packageDirs(options)) {
      let entry: Entry<Served>;
      try {
        entry = { dir, pkg: await readModelPackage(dir) };
      } catch (err) {
        const problem = err instanceof ModelInvalidError ? err : new ModelInvalidError(dir, (err as Error).message, { cause: err });
        entry = { dir, problem };
      }
      const name = entry.pkg?.name ?? entry.problem!.model;
      const first = byName.get(name);
      if (first) {
        log.warn('model package refused: another folder already serves this name', { model: name, refused: dir, kept: first.dir });
        continue;
      }
      byName.set(name, entry);
      if (entry.problem) ModelRegistry.reportBroken(log, entry.problem);
    }
    if (byName.size === 0) {
      const where = [options.modelsDir, ...(options.modelDirs ?? [])].filter(Boolean).map((d) => path.resolve(d!)).join(', ');
      throw new InvalidArgumentError('modelsDir', `no model package was found in ${where || '(no folder given)'} (a package is a folder with model_index.json; set ANIMATE_MODELS_DIR / --models-dir)`);
    }
    const names = [...byName.keys()];
    const preferred = options.preferredDefault && byName.has(options.preferredDefault) ? options.preferredDefault : undefined;
    const defaultModel = options.defaultModel ?? preferred ?? names[0]!;
    const registry = new ModelRegistry(options.worker, log, options.serve, defaultModel);
    for (const [name, e] of byName) registry.entries.set(name, e);
    const def = registry.entries.get(defaultModel);
    if (!def) throw new ModelNotFoundError(defaultModel || '(none)', names);
    if (def.problem) throw def.problem;
    // The default model is loaded (and so checked) by the daemon and kept; the others are checked now and released.
    for (const [name, e] of registry.entries) {
      if (name === defaultModel || !e.pkg) continue;
      const started = performance.now();
      try {
        await checkPackageSessions(e.pkg, options.worker);
        log.debug('model package checked', { model: name, ms: performance.now() - started });
      } catch (err) {
        e.problem = err instanceof ModelInvalidError ? err.named(name) : new ModelInvalidError(e.dir, (err as Error).message, { name, cause: err });
        ModelRegistry.reportBroken(log, e.problem);
      }
    }
    return registry;
  }

  /** The log gets the folder and the raw cause; clients only ever see the error's message (name, relative files). */
  private static reportBroken(log: DaemonLogger, problem: ModelInvalidError): void {
    log.warn('model package left out: not usable', { model: problem.model, dir: problem.packageDir, problem: problem.problem });
  }

  /** Models that can be served (the broken ones are not listed), default first. */
  names(): string[] {
    return this.packages().map((p) => p.name);
  }

  /** Packages that passed validation and the start-up check, default first. */
  packages(): ModelPackage[] {
    const list = [...this.entries.values()].flatMap((e) => (e.pkg && !e.problem ? [e.pkg] : []));
    return list.sort((a, b) => Number(b.name === this.defaultModel) - Number(a.name === this.defaultModel));
  }

  /** The package of a served model; a left-out one throws its ModelInvalidError (FAILED_PRECONDITION). */
  package(name: string): ModelPackage {
    const key = name || this.defaultModel;
    const entry = this.entries.get(key);
    if (!entry) throw new ModelNotFoundError(key, this.names());
    if (entry.problem || !entry.pkg) throw entry.problem ?? new ModelInvalidError(entry.dir, 'unreadable', { name: key });
    return entry.pkg;
  }

  /** Loads the model's sessions once and serves them; later calls share the result. A failed load is retried next time. */
  load(name: string): Promise<Served> {
    const pkg = this.package(name);
    const entry = this.entries.get(pkg.name)!;
    if (!entry.served) {
      const started = performance.now();
      entry.served = ModelSessions.load(pkg, this.worker).then(
        (sessions) => {
          this.log.info('model loaded', { model: pkg.name, ms: performance.now() - started, hash: pkg.hash.slice(0, 12) });
          return this.serve(sessions);
        },
        (err: unknown) => {
          entry.served = undefined;
          const error = err instanceof ModelInvalidError ? err.named(pkg.name) : asDaemonError(err, (m) => new ModelInvalidError(pkg.dir, m, { name: pkg.name }));
          this.log.error('model could not be loaded', { model: pkg.name, dir: pkg.dir, problem: error instanceof ModelInvalidError ? error.problem : error.message });
          throw error;
        },
      );
    }
    return entry.served;
  }
}
