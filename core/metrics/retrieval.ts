import { sumOfPrecisionAtHits } from './average-precision.js';

export type Label = number | string;

export interface RetrievalOptions {
  /** Cut-offs of recall@k (CMC@k); default [1, 5, 10]. */
  readonly recallAt?: readonly number[];
  /** Cut-offs of precision@k and mAP@k; default none. */
  readonly precisionAt?: readonly number[];
  /**
   * R of each query: how many items other than the query share its label in the searched set.
   * Default: counted from `queryLabels` (the queries are the searched set, kNN with self removed).
   */
  readonly relevantCounts?: ArrayLike<number>;
}

export interface RetrievalMetrics {
  /** Share of counted queries whose nearest neighbour has the query's label. */
  readonly precisionAt1: number;
  /** Mean over counted queries of (same-label neighbours among the first R) / R. */
  readonly rPrecision: number;
  /** Mean over counted queries of (1/R) Σ_{i≤R} P(i)·rel(i). */
  readonly mapAtR: number;
  /**
   * Per cut-off k: share of counted queries with at least one same-label neighbour among the first k (recall@k, the
   * CMC curve's value at k).
   */
  readonly recallAt: Readonly<Record<number, number>>;
  /** Per cut-off k: mean of (same-label neighbours among the first k) / min(k, R) (as open-metric-learning). */
  readonly precisionAt: Readonly<Record<number, number>>;
  /** Per cut-off k: mean of (1/min(k, R)) Σ_{i≤k} P(i)·rel(i) (mAP@k, Kaggle's and open-metric-learning's). */
  readonly mapAt: Readonly<Record<number, number>>;
  /** Queries counted: those with R ≥ 1. Every mean above divides by this number. */
  readonly queries: number;
  /** Queries left out because no other item shares their label (R = 0). */
  readonly loneQueries: number;
}

/**
 * Retrieval quality of a kNN result, for evaluation during training.
 *
 * `neighbourLabels[q]` holds the labels of query q's neighbours, nearest first, with the query
 * itself already removed. Labels are compared with `===` (so `1` and `"1"` differ). Queries with
 * R = 0 are left out of every metric (they have nothing to find) and counted in `loneQueries`.
 * When a neighbour list is shorter than R (or k), the missing positions count as misses, so
 * R-precision and MAP@R still divide by R. All metrics are 0 when no query counts.
 */
export function retrievalMetrics(
  queryLabels: ArrayLike<Label>,
  neighbourLabels: readonly (readonly Label[])[],
  options: RetrievalOptions = {},
): RetrievalMetrics {
  if (neighbourLabels.length !== queryLabels.length) {
    throw new RangeError(
      `retrievalMetrics: ${queryLabels.length} query labels but ${neighbourLabels.length} neighbour lists`,
    );
  }
  const relevantCounts = options.relevantCounts ?? othersSharingLabel(queryLabels);
  if (relevantCounts.length !== queryLabels.length) {
    throw new RangeError(
      `retrievalMetrics: ${queryLabels.length} query labels but ${relevantCounts.length} relevant counts`,
    );
  }
  const recallCutoffs = options.recallAt ?? [1, 5, 10];
  const recallHits = recallCutoffs.map(() => 0);
  const precisionCutoffs = options.precisionAt ?? [];
  const precisionSums = precisionCutoffs.map(() => 0);
  const mapSums = precisionCutoffs.map(() => 0);
  let queries = 0;
  let precisionAt1 = 0;
  let rPrecision = 0;
  let mapAtR = 0;
  for (let q = 0; q < queryLabels.length; q++) {
    const r = relevantCounts[q]!;
    if (r <= 0) continue;
    queries += 1;
    const label = queryLabels[q];
    const neighbours = neighbourLabels[q]!;
    const isHit = (position: number) => neighbours[position] === label;
    if (neighbours.length > 0 && isHit(0)) precisionAt1 += 1;
    let hitsInR = 0;
    for (let position = 0; position < Math.min(r, neighbours.length); position++) if (isHit(position)) hitsInR += 1;
    rPrecision += hitsInR / r;
    mapAtR += sumOfPrecisionAtHits(neighbours.length, r, isHit) / r;
    recallCutoffs.forEach((k, i) => {
      if (neighbours.slice(0, k).includes(label!)) recallHits[i]! += 1;
    });
    precisionCutoffs.forEach((k, i) => {
      const found = neighbours.slice(0, k).filter((neighbour) => neighbour === label).length;
      precisionSums[i]! += found / Math.min(k, r);
      mapSums[i]! += sumOfPrecisionAtHits(neighbours.length, k, isHit) / Math.min(k, r);
    });
  }
  const mean = (sum: number) => (queries === 0 ? 0 : sum / queries);
  return {
    precisionAt1: mean(precisionAt1),
    rPrecision: mean(rPrecision),
    mapAtR: mean(mapAtR),
    recallAt: Object.fromEntries(recallCutoffs.map((k, i) => [k, mean(recallHits[i]!)])),
    precisionAt: Object.fromEntries(precisionCutoffs.map((k, i) => [k, mean(precisionSums[i]!)])),
    mapAt: Object.fromEntries(precisionCutoffs.map((k, i) => [k, mean(mapSums[i]!)])),
    queries,
    loneQueries: queryLabels.length - queries,
  };
}

/** For each item: how many other items carry its label. */
function othersSharingLabel(labels: ArrayLike<Label>): number[] {
  const counts = new Map<Label, number>();
  for (let i = 0; i < labels.length; i++) counts.set(labels[i]!, (counts.get(labels[i]!) ?? 0) + 1);
  return Array.from({ length: labels.length }, (_, i) => counts.get(labels[i]!)! - 1);
}
