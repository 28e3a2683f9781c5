import type { Item } from '../../core/contracts/competition.js';
import type { KnnState, ModelVectors, NeighbourRow } from '../../core/contracts/postprocessor.js';
import { UserError } from '../../core/errors.js';

/**
 * A match source adds matches besides the search model's neighbours: to each query's row it
 * appends, after the neighbours already there, the gallery rows it finds whose similarity reaches
 * its threshold (each gallery row once per query).
 */
export function appendNeighbours(state: KnnState, rows: readonly NeighbourRow[], threshold: number): KnnState {
  const neighbours = state.neighbours.map((row, q) => {
    const found = rows[q];
    if (!found) return row;
    const indices = [...row.indices];
    const similarities = [...row.similarities];
    const present = new Set(indices);
    found.indices.forEach((g, r) => {
      if (found.similarities[r]! < threshold || present.has(g)) return;
      present.add(g);
      indices.push(g);
      similarities.push(found.similarities[r]!);
    });
    return { indices, similarities };
  });
  return { ...state, neighbours };
}

/** The state's queries and gallery as items; a match source that reads item data needs them. */
export function stateItems(state: KnnState, source: string): { queries: readonly Item[]; gallery: readonly Item[] } {
  if (!state.queryItems || !state.galleryItems)
    throw new UserError(
      `the ${source} post-processor needs the items of the queries and the gallery`,
      'run it in the pipeline, which passes them',
    );
  return { queries: state.queryItems, gallery: state.galleryItems };
}

const caches = new WeakMap<object, WeakMap<object, Map<string, readonly NeighbourRow[]>>>();

/**
 * A source's rows for one pair of query and gallery sets, computed once: tuning applies the chain
 * to the same validation state for every setting, and a source's rows do not depend on its threshold.
 */
export function cachedRows(
  queries: object,
  gallery: object,
  key: string,
  compute: () => readonly NeighbourRow[],
): readonly NeighbourRow[] {
  let byGallery = caches.get(queries);
  if (!byGallery) caches.set(queries, (byGallery = new WeakMap<object, Map<string, readonly NeighbourRow[]>>()));
  let byKey = byGallery.get(gallery);
  if (!byKey) byGallery.set(gallery, (byKey = new Map<string, readonly NeighbourRow[]>()));
  let rows = byKey.get(key);
  if (!rows) byKey.set(key, (rows = compute()));
  return rows;
}

/**
 * The vectors of the model called `name` for the state's queries and gallery: the state's own
 * (as the chain has left them) for the search model, else the model's vectors the pipeline passed.
 */
export function modelVectors(state: KnnState, name: string, source: string): ModelVectors {
  if (name === state.searchModel)
    return { dim: state.dim, queryVectors: state.queryVectors, galleryVectors: state.galleryVectors };
  const vectors = state.models?.[name];
  if (!vectors) {
    const known = [state.searchModel, ...Object.keys(state.models ?? {})].filter(Boolean);
    throw new UserError(
      `the ${source} post-processor reads model "${name}", which this run does not have`,
      `models: ${known.join(', ') || '(none)'}; add "${name}" under models, or name another in its options`,
    );
  }
  return vectors;
}
