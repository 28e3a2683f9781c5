import type { Indexer, SearchIndex, SearchResult } from '../../core/contracts/indexer.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';
import { faiss } from '../../core/search/native.js';

/** faiss's METRIC_L2 (squared Euclidean distance). */
const METRIC_L2 = 1;

export const HOST_KNN = 'landmark-retrieval-2020-host';

function requireFinite(values: Float32Array, what: string): void {
  const bad = values.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) throw new UserError(`${what}: value ${values[bad]} at position ${bad} is not finite`);
}

/**
 * The search Kaggle's host ran on the participants' models in Landmark Retrieval 2020: every index image ranked by
 * the L2 distance between the model's outputs, exactly (faiss IndexFlatL2). Similarities are negated squared
 * distances, so that higher is nearer, as the pipeline reads them.
 */
export function hostKnnIndex(dim: number): SearchIndex {
  const native = faiss().Index.fromFactory(dim, 'Flat', METRIC_L2);
  const ids: string[] = [];
  const rows = (vectors: Float32Array, what: string): number => {
    if (vectors.length % dim !== 0)
      throw new UserError(`${what}: ${vectors.length} values are not whole vectors of dimension ${dim}`);
    requireFinite(vectors, what);
    return vectors.length / dim;
  };
  return {
    dim,
    ids,
    add: (added, vectors) => {
      if (rows(vectors, 'index vectors') !== added.length)
        throw new UserError(`${added.length} index ids for ${vectors.length / dim} vectors`);
      native.add(vectors);
      ids.push(...added);
    },
    search: (queries, k): SearchResult => {
      if (!Number.isInteger(k) || k < 1) throw new UserError(`k must be a positive integer, got ${k}`);
      if (ids.length === 0) throw new UserError('cannot search an empty index', 'add vectors first');
      const count = rows(queries, 'queries');
      const kUsed = Math.min(k, ids.length);
      const { labels, distances } = native.search(queries, kUsed);
      return {
        k: kUsed,
        count,
        indices: Int32Array.from(labels, Number),
        similarities: Float32Array.from(distances, (distance, i) => (labels[i]! < 0 ? -Infinity : -distance)),
      };
    },
  };
}

export const hostKnnIndexer: Registration<Indexer, Record<string, never>> = {
  name: HOST_KNN,
  description: "Landmark Retrieval 2020's host search: exact, by L2 distance of the model's output (faiss IndexFlatL2)",
  defaults: {},
  create: () => ({ factory: 'Flat (L2)', trainingSample: 0, build: (dim) => hostKnnIndex(dim) }),
};
