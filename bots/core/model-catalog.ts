// The daemon's model list as the core sees it: ListModels, cached for a while (every /animate checks its options
// against the model's limits, and the daemon's answer rarely changes), and the lookup of one model by name.
// An unreachable daemon is no error here: the options are then checked by the daemon alone.
import type { AnimatorConnection } from '../../shared/rpc/client.ts';
import type { ListModelsResponse__Output, ModelInfo__Output } from '../../shared/rpc/types.ts';
import type { Clock } from './clock.ts';
import { UnknownModelError } from './errors.ts';
import type { Logger } from './logger.ts';

/** How long a ListModels answer is reused, in ms. */
export const DEFAULT_MODEL_CACHE_MS = 60_000;

export interface ModelCatalogOptions {
  /** Where the list comes from (only ListModels is used). */
  connection: Pick<AnimatorConnection, 'listModels'>;
  clock: Clock;
  logger: Logger;
  /** Default DEFAULT_MODEL_CACHE_MS. */
  cacheMs?: number | undefined;
}

export class ModelCatalog {
  private cached: { at: number; value: ListModelsResponse__Output } | undefined;
  private readonly cacheMs: number;

  constructor(private readonly options: ModelCatalogOptions) {
    this.cacheMs = options.cacheMs ?? DEFAULT_MODEL_CACHE_MS;
  }

  /** ListModels (cached); undefined when the daemon cannot be reached (logged, not thrown). */
  async list(): Promise<ListModelsResponse__Output | undefined> {
    const { clock } = this.options;
    if (this.cached && clock.now() - this.cached.at < this.cacheMs) return this.cached.value;
    try {
      const value = await this.options.connection.listModels();
      this.cached = { at: clock.now(), value };
      return value;
    } catch (err) {
      this.options.logger.warn('ListModels failed; options are checked by the daemon only', err);
      return undefined;
    }
  }

  /**
   * The model called `name`, or the daemon's default when `name` is undefined; undefined when the list is unknown.
   * Throws UnknownModelError (naming the models there are) when a named model is not in the list.
   */
  async find(name: string | undefined): Promise<ModelInfo__Output | undefined> {
    const list = await this.list();
    return list ? findModel(list, name) : undefined;
  }
}

/**
 * The model called `name` in a ListModels answer, or its default when `name` is undefined (adapters that hold a list,
 * e.g. Discord's autocomplete, look models up the same way). Throws UnknownModelError naming the models there are.
 */
export function findModel(list: ListModelsResponse__Output, name: string | undefined): ModelInfo__Output | undefined {
  const wanted = name ?? list.defaultModel;
  const model = list.models.find((m) => m.name === wanted);
  if (!model && name !== undefined)
    throw new UnknownModelError(`There is no model "${name}". Models: ${list.models.map((m) => m.name).join(', ') || 'none loaded'}.`);
  return model;
}
