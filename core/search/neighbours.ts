import type { KnnState, NeighbourRow, PostProcessContext } from '../contracts/postprocessor.js';
import type { SearchIndex } from '../contracts/indexer.js';
import { UserError } from '../errors.js';
import { VectorIndex, type SearchResult } from './vector-index.js';

/** Search result rows as neighbour lists; entries faiss could not fill (index -1) are dropped. */
export function rowsOf(result: SearchResult): NeighbourRow[] {
  const rows: NeighbourRow[] = [];
  for (let q = 0; q < result.count; q++) {
    const indices: number[] = [];
    const similarities: number[] = [];
    for (let r = q * result.k; r < (q + 1) * result.k; r++) {
      if (result.indices[r]! < 0) continue;
      indices.push(result.indices[r]!);
      similarities.push(result.similarities[r]!);
    }
    rows.push({ indices, similarities });
  }
  return rows;
}

export interface NeighbourSearchOptions {
  readonly k: number;
  /** Drop the neighbour whose id equals the query's id (a query searched against a gallery holding it). */
  readonly excludeSelf?: boolean;
  readonly batchSize?: number;
}

/** The k nearest gallery items of each query, as rows into `index.ids`. */
export function searchNeighbours(
  index: SearchIndex,
  queryIds: readonly string[],
  queries: Float32Array,
  options: NeighbourSearchOptions,
): NeighbourRow[] {
  if (queries.length !== queryIds.length * index.dim)
    throw new UserError(`${queryIds.length} query ids for ${queries.length / index.dim} query vectors`);
  const wanted = options.excludeSelf ? options.k + 1 : options.k;
  const rows = rowsOf(index.search(queries, wanted, { batchSize: options.batchSize }));
  if (!options.excludeSelf) return rows;
  const ids = index.ids;
  return rows.map((row, q) => {
    const keep = row.indices
      .map((_, r) => r)
      .filter((r) => ids[row.indices[r]!] !== queryIds[q])
      .slice(0, options.k);
    return { indices: keep.map((r) => row.indices[r]!), similarities: keep.map((r) => row.similarities[r]!) };
  });
}

/** Exact inner-product search over vectors held in memory (a temporary flat index). */
export function exactSearch(queries: Float32Array, gallery: Float32Array, dim: number, k: number): NeighbourRow[] {
  const index = VectorIndex.create(dim);
  index.add(
    Array.from({ length: gallery.length / dim }, (_, i) => String(i)),
    gallery,
  );
  return rowsOf(index.search(queries, k));
}

export function exactSearchContext(dim: number): PostProcessContext {
  return { search: (queries, gallery, k) => exactSearch(queries, gallery, dim, k) };
}

/** Keeps, in order, the neighbours for which `keep(query, rank)` holds; a row that keeps them all is returned as is. */
export function filterNeighbours(
  rows: readonly NeighbourRow[],
  keep: (query: number, rank: number) => boolean,
): NeighbourRow[] {
  return rows.map((row, q) => {
    const indices: number[] = [];
    const similarities: number[] = [];
    for (let r = 0; r < row.indices.length; r++) {
      if (!keep(q, r)) continue;
      indices.push(row.indices[r]!);
      similarities.push(row.similarities[r]!);
    }
    return indices.length === row.indices.length ? row : { indices, similarities };
  });
}

/** Rank of the first neighbour that is not the query itself, or -1. */
export function firstNonSelf(state: KnnState, query: number): number {
  return state.neighbours[query]!.indices.findIndex((g) => state.galleryIds[g] !== state.queryIds[query]);
}

/** True when the queries are exactly the gallery (same ids in the same order), as in Shopee. */
export function queriesAreGallery(state: KnnState): boolean {
  return (
    state.queryIds.length === state.galleryIds.length && state.queryIds.every((id, i) => id === state.galleryIds[i])
  );
}

export interface BlendOptions {
  /** Use at most this many neighbours of each row. */
  readonly neighbours: number;
  /** Each neighbour is weighted by max(similarity, 0)^power. */
  readonly power: number;
  /** Neighbours below this similarity are ignored. */
  readonly minSimilarity: number;
}

/**
 * Row i of the result = L2-normalised (base_i + Σ weight · source[neighbour]) over the first
 * neighbours of row i: the common core of query expansion, DBA and neighbourhood blending.
 */
export function blendVectors(
  base: Float32Array | undefined,
  source: Float32Array,
  rows: readonly NeighbourRow[],
  dim: number,
  options: BlendOptions,
): Float32Array {
  const out = new Float32Array(rows.length * dim);
  const sum = new Float64Array(dim);
  rows.forEach((row, i) => {
    sum.fill(0);
    if (base) for (let j = 0; j < dim; j++) sum[j] = base[i * dim + j]!;
    const used = Math.min(options.neighbours, row.indices.length);
    for (let r = 0; r < used; r++) {
      const similarity = row.similarities[r]!;
      if (similarity < options.minSimilarity) continue;
      const weight = Math.max(similarity, 0) ** options.power;
      const offset = row.indices[r]! * dim;
      for (let j = 0; j < dim; j++) sum[j]! += weight * source[offset + j]!;
    }
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += sum[j]! * sum[j]!;
    norm = Math.sqrt(norm);
    // A row with nothing to blend keeps its own vector.
    const fallback = norm === 0 ? (base ?? source).subarray(i * dim, (i + 1) * dim) : undefined;
    for (let j = 0; j < dim; j++) out[i * dim + j] = fallback ? fallback[j]! : sum[j]! / norm;
  });
  return out;
}
