/** Ranked neighbours of `count` queries, `k` per query, row-major; index -1 = no neighbour found. */
export interface SearchResult {
  readonly k: number;
  readonly count: number;
  readonly indices: Int32Array;
  readonly similarities: Float32Array;
}

/**
 * An inner-product index with string ids, as the pipeline uses it (core/search/vector-index.ts implements it over
 * faiss).
 */
export interface SearchIndex {
  readonly dim: number;
  /** The id of each indexed vector, in the order added. */
  readonly ids: readonly string[];
  add(ids: readonly string[], vectors: Float32Array): void;
  search(queries: Float32Array, k: number, options?: { batchSize?: number }): SearchResult;
}

/** Builds inner-product indexes of one kind; registered by name under TOKENS.Indexer. */
export interface Indexer {
  /** The faiss factory string this indexer builds. */
  readonly factory: string;
  /** How many vectors to train on (a random sample of those given); 0 when no training is needed. */
  readonly trainingSample: number;
  /** An empty index of `dim`, trained (where its kind needs training) on a sample of `training`. */
  build(dim: number, training: Float32Array): SearchIndex;
}
