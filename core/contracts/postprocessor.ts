/**
 * Post-processing of nearest-neighbour results (docs/knn.md). A post-processor takes the state of
 * a kNN stage and returns a new one; it may change the embeddings (query expansion, DBA,
 * neighbourhood blending: these re-run the search), filter or extend the neighbour lists
 * (thresholds, min2, reciprocal matching), or turn neighbours into ranked label predictions
 * (voting, distinct top-k, unknown label, non-target penalty).
 */

import type { Item, Json } from './competition.js';

/** The name of one of a run's models (a key of the config's `models`), whose output a post-processor reads. */
export type ModelName = string;

/** A model's L2-normalised vectors of the state's queries and gallery, row-major. */
export interface ModelVectors {
  readonly dim: number;
  readonly queryVectors: Float32Array;
  readonly galleryVectors: Float32Array;
}

/** One query's neighbours, best first: positions in the gallery and their inner-product similarities. */
export interface NeighbourRow {
  readonly indices: readonly number[];
  readonly similarities: readonly number[];
}

/** Ranked labels for one query, best first, with a confidence each. */
export interface RankedLabels {
  readonly labels: readonly string[];
  readonly scores: readonly number[];
}

export interface KnnState {
  readonly dim: number;
  readonly queryIds: readonly string[];
  /** queryIds.length × dim, L2-normalised, row-major. */
  readonly queryVectors: Float32Array;
  readonly galleryIds: readonly string[];
  readonly galleryVectors: Float32Array;
  /** The label of each gallery item, for label predictions. */
  readonly galleryLabels?: readonly string[];
  /** One row per query. A neighbour whose id equals the query's id is the query itself ("self"). */
  readonly neighbours: readonly NeighbourRow[];
  readonly predictions?: readonly RankedLabels[];
  /** Per query, a classification head's probability of each label (for fused voting). */
  readonly classProbabilities?: readonly ReadonlyMap<string, number>[];
  /** Vectors of known non-targets (e.g. non-landmark images), row-major, for the non-target penalty. */
  readonly distractorVectors?: Float32Array;
  /** The queries and the gallery as read (titles, perceptual hashes), for match sources that read item data. */
  readonly queryItems?: readonly Item[];
  readonly galleryItems?: readonly Item[];
  /** The model whose vectors `queryVectors` and `galleryVectors` are and whose neighbours the chain starts from. */
  readonly searchModel?: ModelName;
  /** The other models' vectors of the same queries and gallery, by model name. */
  readonly models?: { readonly [name: ModelName]: ModelVectors };
  /**
   * The search model's vectors of the items the models trained on, with their labels: what a post-processor that
   * learns without truth (`learnsFromTraining`: the re-ranker) learns from. Never a validation or test item.
   */
  readonly training?: TrainingVectors;
}

export interface TrainingVectors {
  readonly ids: readonly string[];
  /** ids.length × dim, L2-normalised, row-major. */
  readonly vectors: Float32Array;
  readonly labels: readonly string[];
}

export interface PostProcessContext {
  /** Exact inner-product search: the `k` (clamped to the gallery size) best gallery rows of each query row. */
  search(queries: Float32Array, gallery: Float32Array, k: number): NeighbourRow[];
}

export interface PostProcessor {
  readonly name: string;
  /**
   * The models it reads, by name; [] for one that reads item data only (perceptual hashes, TF-IDF
   * of titles). Absent means the search model's neighbours. Baselines leave out the
   * post-processors of a model to measure what that model adds.
   */
  readonly models?: readonly ModelName[];
  /** It reads `state.training`, which the pipeline then fills (an embedding of the training items more). */
  readonly learnsFromTraining?: boolean;
  apply(state: KnnState, context: PostProcessContext): KnnState;
  /**
   * Options learned from the validation queries' true labels (`truth[q]` for query q), given the
   * state this post-processor receives; the pipeline calls it once, after tuning, and runs the test
   * set with them (e.g. per-class thresholds).
   */
  fit?(state: KnnState, truth: readonly (readonly string[])[]): { readonly [option: string]: Json };
}
