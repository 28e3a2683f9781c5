import type { PostProcessor } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { exactSearch } from '../../core/search/neighbours.js';
import { appendNeighbours, cachedRows, modelVectors } from './match-source.js';

export interface ModelMatchOptions {
  /** The model whose vectors are searched (a key of the config's `models`). */
  readonly model: string;
  /** Gallery items whose similarity reaches this are added. */
  readonly threshold: number;
  /** Neighbours looked at per query. */
  readonly neighbours: number;
}

/** Nearest neighbours by one named model's embeddings (Shopee's titles by the `text` model). */
export const modelMatch: Registration<PostProcessor, ModelMatchOptions> = {
  name: 'model-match',
  description: "match source: add the gallery items whose cosine by a named model's vectors reaches a threshold",
  defaults: { model: 'text', threshold: 0.7, neighbours: 50 },
  create: ({ model, threshold, neighbours }: ModelMatchOptions) => {
    return {
      name: 'model-match',
      models: [model],
      apply: (state) => {
        const vectors = modelVectors(state, model, 'model-match');
        const count = vectors.galleryVectors.length / vectors.dim;
        const rows = cachedRows(vectors.queryVectors, vectors.galleryVectors, `model-match ${neighbours}`, () =>
          count === 0
            ? []
            : exactSearch(vectors.queryVectors, vectors.galleryVectors, vectors.dim, Math.min(neighbours, count)),
        );
        return appendNeighbours(state, rows, threshold);
      },
    };
  },
};
