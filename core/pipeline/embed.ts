import type { Item } from '../contracts/competition.js';
import type { ModelVectors } from '../contracts/postprocessor.js';
import type { EmbeddedSet, Overrides } from './knn.js';
import type { TrainedModels } from './train-models.js';

/**
 * The embedding stage as the search stages use it: the searched vectors of an item set (the search model's, or an
 * ensemble's), and every other model's vectors of the same queries and gallery for the post-processors that read them.
 */
export interface Embedder {
  readonly searchModel: string;
  readonly dim: number;
  /** What is searched, for the report: the search model, or the ensemble's models, weights and projection. */
  readonly description: string;
  /** Settings tuned with the searched vectors themselves (an ensemble's weights, keyed `ensemble.<model>`). */
  readonly tuned: Overrides;
  embed(items: readonly Item[]): Promise<EmbeddedSet>;
  otherModels(queries: readonly Item[], gallery: readonly Item[]): Promise<Record<string, ModelVectors>>;
}

/** A model's vectors of an item set by the model's name. */
export type VectorsOf = (name: string, items: readonly Item[]) => Promise<Float32Array>;

/** Embeds each item set once per model (a match set is its own gallery, and validation and test reuse sets). */
export function cachedVectors(models: TrainedModels): VectorsOf {
  const cache = new Map<string, Map<readonly Item[], Promise<Float32Array>>>();
  return (name, items) => {
    const byItems = cache.get(name) ?? new Map<readonly Item[], Promise<Float32Array>>();
    cache.set(name, byItems);
    let vectors = byItems.get(items);
    if (!vectors) byItems.set(items, (vectors = models.byName.get(name)!.embed(items)));
    return vectors;
  };
}

/** Every model's vectors of the queries and the gallery, but the searched model's. */
export function otherModelsOf(
  models: TrainedModels,
  vectorsOf: VectorsOf,
  searchModel: string,
): Embedder['otherModels'] {
  return async (queries, gallery) => {
    const others: Record<string, ModelVectors> = {};
    for (const [name, model] of models.byName) {
      if (name === searchModel) continue;
      const queryVectors = await vectorsOf(name, queries);
      others[name] = { dim: model.dim, queryVectors, galleryVectors: await vectorsOf(name, gallery) };
    }
    return others;
  };
}

/** The embedder that searches one model's vectors. */
export function embedderOf(models: TrainedModels, searchModel: string, vectorsOf = cachedVectors(models)): Embedder {
  return {
    searchModel,
    dim: models.byName.get(searchModel)!.dim,
    description: `the ${searchModel} model`,
    tuned: {},
    embed: async (items) => ({ items, vectors: await vectorsOf(searchModel, items) }),
    otherModels: otherModelsOf(models, vectorsOf, searchModel),
  };
}
