import type { Item } from '../../core/contracts/competition.js';
import type { KnnState, ModelVectors, NeighbourRow } from '../../core/contracts/postprocessor.js';
import { UserError } from '../../core/errors.js';

/**
 * A match source adds matches besides the search model's neighbours: to each query's row it
 * appends, after the neighbours already there, the gallery rows it finds whose similarity reaches
 * its threshold (each gallery row once per query). A row to which nothing is added is kept as it
 * is: tuning applies the chain once per setting, so rows are copied only where they change.
 */
export function appendNeighbours(state: KnnState, rows: readonly NeighbourRow[], threshold: number): KnnState {
  // present[g] === q + 1: gallery row g is in query q's row (one array for all queries, not a set per row).
  const present = new Int32Array(state.galleryIds.length);
  const neighbours = state.neighbours.map((row, q) => {
    const found = rows[q];
    if (!found) return row;
    const stamp = q + 1;
    for (const g of row.indices) present[g] = stamp;
    let indices: number[] | undefined;
    let similarities: number[] | undefined;
    for (let r = 0; r < found.indices.length; r++) {
      const g = found.indices[r]!;
      const similarity = found.similarities[r]!;
      if (similarity < threshold || present[g] === stamp) continue;
      present[g] = stamp;
      indices ??= [...row.indices];
      similarities ??= [...row.similarities];
      indices.push(g);
      similarities.push(similarity);
    }
    return indices ? { indices, similarities: similarities! } : row;
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
