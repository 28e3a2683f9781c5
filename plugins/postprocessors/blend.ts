import type { KnnState, PostProcessContext, PostProcessor } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { blendVectors, queriesAreGallery, type BlendOptions } from '../../core/search/neighbours.js';

interface RequeryOptions extends BlendOptions {
  /** Neighbours fetched by the new search. */
  readonly k: number;
}

function requery(
  state: KnnState,
  context: PostProcessContext,
  queries: Float32Array,
  gallery: Float32Array,
  k: number,
): KnnState {
  const shared = queriesAreGallery(state);
  const newGallery = shared ? queries : gallery;
  return {
    ...state,
    queryVectors: queries,
    galleryVectors: newGallery,
    neighbours: context.search(queries, newGallery, k),
  };
}

/**
 * αQE: each query becomes the normalised sum of itself and its top neighbours weighted by sim^α, then is searched
 * again.
 */
export const queryExpansion: Registration<PostProcessor, RequeryOptions> = {
  name: 'query-expansion',
  description: 'αQE: re-query with the normalised similarity^α-weighted sum of the query and its top neighbours',
  defaults: { neighbours: 2, power: 3, minSimilarity: 0, k: 100 },
  create: (o: RequeryOptions) => {
    return {
      name: 'query-expansion',
      apply: (state, context) =>
        requery(
          state,
          context,
          blendVectors(state.queryVectors, state.galleryVectors, state.neighbours, state.dim, o),
          state.galleryVectors,
          o.k,
        ),
    };
  },
};

/**
 * Database-side augmentation: every gallery vector becomes the weighted sum of itself and its own
 * top gallery neighbours; then the queries are searched again against the augmented gallery.
 */
export const databaseAugmentation: Registration<PostProcessor, RequeryOptions> = {
  name: 'dba',
  description:
    'database-side augmentation: replace gallery vectors by weighted sums of their gallery neighbours, re-search',
  defaults: { neighbours: 2, power: 3, minSimilarity: 0, k: 100 },
  create: (o: RequeryOptions) => {
    return {
      name: 'dba',
      apply: (state, context) => {
        const galleryRows = context.search(state.galleryVectors, state.galleryVectors, o.neighbours + 1);
        const withoutSelf = galleryRows.map((row, i) => {
          const keep = row.indices.map((_, r) => r).filter((r) => row.indices[r] !== i);
          return { indices: keep.map((r) => row.indices[r]!), similarities: keep.map((r) => row.similarities[r]!) };
        });
        const gallery = blendVectors(state.galleryVectors, state.galleryVectors, withoutSelf, state.dim, o);
        const queries = queriesAreGallery(state) ? gallery : state.queryVectors;
        return requery(state, context, queries, gallery, o.k);
      },
    };
  },
};

/**
 * Iterative neighbourhood blending (Shopee's winning trick): replace each embedding by the
 * similarity-weighted sum of its neighbours above a threshold (itself included), renormalise,
 * search again; repeat.
 */
interface BlendingOptions extends RequeryOptions {
  /** Rounds of blending and searching again. */
  readonly iterations: number;
}

export const neighbourhoodBlending: Registration<PostProcessor, BlendingOptions> = {
  name: 'neighbourhood-blending',
  description:
    'iteratively replace embeddings by similarity-weighted sums of their neighbours above a threshold, re-search',
  defaults: { neighbours: 10, power: 1, minSimilarity: 0.5, k: 50, iterations: 2 },
  create: (o: BlendingOptions) => {
    return {
      name: 'neighbourhood-blending',
      apply: (state, context) => {
        let current = state;
        for (let i = 0; i < o.iterations; i++) {
          const queries = blendVectors(undefined, current.galleryVectors, current.neighbours, current.dim, o);
          current = requery(
            current,
            context,
            queries,
            queriesAreGallery(current) ? queries : current.galleryVectors,
            o.k,
          );
        }
        return current;
      },
    };
  },
};
