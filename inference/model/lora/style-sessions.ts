// Sessions of styled transformers: one per (package, transformer file, style, strength), built on first use from the
// package's weights with the style's LoRA merged in (merge.ts, in the worker thread: styled-model.ts) and handed to
// onnxruntime as bytes, then kept in a small cache bounded in bytes, least recently used first out. onnxruntime-node has no adapter API, so each style and
// strength is a session of its own; building one costs a merge and a session creation (a fraction of a second for
// tiny-world), so the cache keeps the few in use. One shared by all models of a daemon (ANIMATE_STYLE_CACHE_MB).
// A session in use by a job (a lease) is never evicted: the cache may stand over its bound while more styles than fit
// are running, and comes back under it as their jobs end. Evictions run one at a time (a promise chain), and each
// picks its victim afresh after the previous dispose: a job may take a session while one is being disposed.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_STYLE_CACHE_MB, roundStyleStrength } from '../../../shared/wire/styles.ts';
import { InferenceFailedError, InvalidArgumentError } from '../../errors.ts';
import type { ModelPackage } from '../package.ts';
import type { StyledModelSource } from './styled-model.ts';
import { findStyle, STYLED_COMPONENT } from './styles.ts';

/** What the cache needs of the inference worker (OnnxWorkerClient): sessions from bytes, and their release. */
export interface StyleSessionHost {
  load(key: string, model: StyledModelSource): Promise<unknown>;
  dispose(key: string): Promise<void>;
}

export interface StyleCacheOptions {
  /**
   * Bytes of styled transformers kept at most, each counted as its graph's size (the weights its session holds in the
   * worker; the main thread keeps none of them). Default DEFAULT_STYLE_CACHE_MB (256 MiB, shared/wire/styles.ts).
   */
  maxBytes?: number;
}
export const STYLE_CACHE_DEFAULTS = { maxBytes: DEFAULT_STYLE_CACHE_MB * 1024 * 1024 } satisfies Required<StyleCacheOptions>;

/**
 * Strengths are used at the wire's step (STYLE_STRENGTH_STEP, 0.05): closer ones share a session, at most 41 per style,
 * and the merge uses the rounded value.
 */
export function styleStrengthKey(strength: number): number {
  return roundStyleStrength(strength);
}

export interface StyleLease {
  /** The worker's session key of the styled transformer. */
  key: string;
  /** Ends this use; the session may be evicted once no lease holds it. */
  release(): void;
}

export interface StyleCacheStats {
  hits: number;
  misses: number;
  evictions: number;
  /** Merged bytes held now. */
  bytes: number;
  sessions: number;
}

interface Entry {
  key: string;
  bytes: number;
  users: number;
  lastUsed: number;
  ready: Promise<void>;
  loaded: boolean;
}

export class StyleSessionCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxBytes: number;
  private clock = 0;
  private counts = { hits: 0, misses: 0, evictions: 0 };
  /** The eviction running now (or settled): each evict() runs after the one before it. */
  private evicting: Promise<void> = Promise.resolve();

  constructor(private readonly host: StyleSessionHost, options: StyleCacheOptions = {}) {
    const maxBytes = options.maxBytes ?? STYLE_CACHE_DEFAULTS.maxBytes;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new InvalidArgumentError('styleCacheBytes', `${maxBytes} is not a byte count; allowed: an integer ≥ 0`);
    this.maxBytes = maxBytes;
  }

  get stats(): StyleCacheStats {
    const loaded = [...this.entries.values()].filter((e) => e.loaded);
    return { ...this.counts, bytes: loaded.reduce((n, e) => n + e.bytes, 0), sessions: loaded.length };
  }

  /** The styled transformer's session for `style` at `strength` (0..2), loaded if need be; release the lease when done. */
  async acquire(pkg: ModelPackage, style: string, strength: number): Promise<StyleLease> {
    const found = findStyle(pkg, style);
    const s = styleStrengthKey(strength);
    const key = `style:${pkg.hash}:${STYLED_COMPONENT}:${style}:${s.toFixed(2)}`;
    let entry = this.entries.get(key);
    if (entry) this.counts.hits += 1;
    else {
      this.counts.misses += 1;
      const created: Entry = { key, bytes: 0, users: 0, lastUsed: 0, loaded: false, ready: Promise.resolve() };
      created.ready = this.build(pkg, found.plan, s, key).then(
        (bytes) => {
          created.bytes = bytes;
          created.loaded = true;
        },
        (err: unknown) => {
          this.entries.delete(key);
          throw err;
        },
      );
      this.entries.set(key, created);
      entry = created;
    }
    entry.users += 1;
    entry.lastUsed = ++this.clock;
    try {
      await entry.ready;
    } catch (err) {
      entry.users -= 1;
      throw err;
    }
    await this.evict();
    const held = entry;
    let released = false;
    return {
      key,
      release: () => {
        if (released) return;
        released = true;
        held.users -= 1;
        held.lastUsed = ++this.clock;
        void this.evict();
      },
    };
  }

  /** Releases every session (the daemon's close). */
  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) await e.ready.then(() => this.host.dispose(e.key), () => undefined);
  }

  private async build(pkg: ModelPackage, plan: ModelPackage['styles'][number]['plan'], strength: number, key: string): Promise<number> {
    const file = pkg.onnx[STYLED_COMPONENT];
    const label = path.relative(pkg.dir, file).split(path.sep).join('/');
    try {
      // Merged in the worker thread (styled-model.ts); the merged graph is the base file's size (same tensors, raw_data).
      await this.host.load(key, { styled: { file, label, plan, strength } });
      return (await stat(file)).size;
    } catch (err) {
      throw new InferenceFailedError(`model "${pkg.name}": the styled transformer could not be built (${(err as Error).message})`, { cause: err });
    }
  }

  /** Least recently used unleased sessions out until the held bytes fit the bound; after the eviction before it. */
  private evict(): Promise<void> {
    const run = this.evicting.then(() => this.evictNow());
    this.evicting = run.catch(() => undefined);
    return run;
  }

  private async evictNow(): Promise<void> {
    // The victim is chosen again after each dispose (an await): a job may have leased a session meanwhile, and one
    // taken then is no longer idle, so it is never deleted under the job using it.
    for (;;) {
      if (this.stats.bytes <= this.maxBytes) return;
      let victim: Entry | undefined;
      for (const e of this.entries.values()) if (e.loaded && e.users === 0 && (!victim || e.lastUsed < victim.lastUsed)) victim = e;
      if (!victim) return;
      this.entries.delete(victim.key);
      this.counts.evictions += 1;
      await this.host.dispose(victim.key).catch(() => undefined);
    }
  }
}
