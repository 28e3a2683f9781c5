import type { Item } from '../contracts/competition.js';
import type { ModelVectors } from '../contracts/postprocessor.js';
import type { EmbeddedSet } from './knn.js';
import type { TrainedModels } from './train-models.js';

/**
 * The embedding stage as the search stages use it: the search model's vectors of an item set, and every other
 * model's vectors of the same queries and gallery for the post-processors that read them.
 */
export interface Embedder {
  readonly searchModel: string;
  readonly dim: number;
  embed(items: readonly Item[]): Promise<EmbeddedSet>;
  otherModels(queries: readonly Item[], gallery: readonly Item[]): Promise<Record<string, ModelVectors>>;
}

/** Embeds each item set once per model (a match set is its own gallery, and validation and test reuse sets). */
export function embedderOf(models: TrainedModels, searchModel: string): Embedder {
  const cache = new Map<string, Map<readonly Item[], Promise<Float32Array>>>();
  const vectorsOf = (name: string, items: readonly Item[]): Promise<Float32Array> => {
    const byItems = cache.get(name) ?? new Map<readonly Item[], Promise<Float32Array>>();
    cache.set(name, byItems);
    let vectors = byItems.get(items);
    if (!vectors) byItems.set(items, (vectors = models.byName.get(name)!.embed(items)));
    return vectors;
  };
  return {
    searchModel,
    dim: models.byName.get(searchModel)!.dim,
    embed: async (items) => ({ items, vectors: await vectorsOf(searchModel, items) }),
    otherModels: async (queries, gallery) => {
      const others: Record<string, ModelVectors> = {};
      for (const [name, model] of models.byName) {
        if (name === searchModel) continue;
        const queryVectors = await vectorsOf(name, queries);
        others[name] = { dim: model.dim, queryVectors, galleryVectors: await vectorsOf(name, gallery) };
      }
      return others;
    },
  };
}
