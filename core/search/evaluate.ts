import { retrievalMetrics, type RetrievalMetrics } from '../metrics/retrieval.js';
import { fnmrAtFmr } from '../metrics/verification.js';
import { exactSearch } from './neighbours.js';

/** Embedded items with a label each ('' for none: never relevant, never counted as a query). */
export interface LabelledVectors {
  readonly ids: readonly string[];
  readonly labels: readonly string[];
  /** ids.length × dim, L2-normalised. */
  readonly vectors: Float32Array;
}

export interface EvaluationOptions {
  /** Cut-offs of CMC@k, precision@k and mAP@k. */
  readonly cutoffs: readonly number[];
  /** False match rates of FNMR@FMR. */
  readonly falseMatchRates: readonly number[];
}

export const DEFAULT_EVALUATION: EvaluationOptions = { cutoffs: [1, 5, 10], falseMatchRates: [0.1, 0.01, 0.001] };

export interface Evaluation {
  /** CMC@k is `recallAt`; every mean is over the queries with a relevant gallery item. */
  readonly retrieval: RetrievalMetrics;
  readonly fnmrAtFmr: Readonly<Record<number, number>>;
  readonly genuinePairs: number;
  readonly impostorPairs: number;
}

/**
 * Retrieval and verification quality of labelled embeddings: each query searches the gallery (the queries themselves
 * when no gallery is given), a gallery item with the query's own id left out. R counts the gallery items with the
 * query's label. FNMR@FMR is over every labelled (query, gallery item) pair but the query with itself: exact dot
 * products, queries × gallery × dim work.
 */
export function evaluateEmbeddings(
  queries: LabelledVectors,
  gallery: LabelledVectors | undefined,
  dim: number,
  options: EvaluationOptions = DEFAULT_EVALUATION,
): Evaluation {
  const searched = gallery ?? queries;
  const isSelf = (q: number, g: number) => searched.ids[g] === queries.ids[q];
  const galleryIndex = new Map<string, number>();
  const counts = new Map<string, number>();
  searched.labels.forEach((label, g) => {
    galleryIndex.set(searched.ids[g]!, g);
    if (label !== '') counts.set(label, (counts.get(label) ?? 0) + 1);
  });
  const relevantCounts = queries.labels.map((label, q) => {
    if (label === '') return 0;
    const self = galleryIndex.get(queries.ids[q]!);
    return (counts.get(label) ?? 0) - (self !== undefined && searched.labels[self] === label ? 1 : 0);
  });
  const cutoffs = [...options.cutoffs];
  const k = Math.min(searched.ids.length, Math.max(...cutoffs, ...relevantCounts) + 1);
  const rows = exactSearch(queries.vectors, searched.vectors, dim, k);
  // An unlabelled gallery item is a miss for every query: a number never equals a (string) label.
  const neighbours = rows.map((row, q) =>
    row.indices.filter((g) => !isSelf(q, g)).map((g) => (searched.labels[g] === '' ? -1 : searched.labels[g]!)),
  );
  const retrieval = retrievalMetrics(queries.labels, neighbours, {
    relevantCounts,
    recallAt: cutoffs,
    precisionAt: cutoffs,
  });

  const genuine: number[] = [];
  const impostor: number[] = [];
  queries.labels.forEach((label, q) => {
    if (label === '') return;
    const query = queries.vectors.subarray(q * dim, (q + 1) * dim);
    searched.labels.forEach((other, g) => {
      if (other === '' || isSelf(q, g)) return;
      let similarity = 0;
      for (let d = 0; d < dim; d++) similarity += query[d]! * searched.vectors[g * dim + d]!;
      (other === label ? genuine : impostor).push(similarity);
    });
  });
  return {
    retrieval,
    fnmrAtFmr: fnmrAtFmr(genuine, impostor, options.falseMatchRates),
    genuinePairs: genuine.length,
    impostorPairs: impostor.length,
  };
}

/** The evaluation as named numbers, in the order they are printed and reported ("CMC@1", "FNMR@FMR=0.01", …). */
export function evaluationTable({ retrieval, fnmrAtFmr: fnmr }: Evaluation): [string, number][] {
  const at = (name: string, values: Readonly<Record<number, number>>) =>
    Object.entries(values).map(([k, value]): [string, number] => [`${name}@${k}`, value]);
  return [
    ...at('CMC', retrieval.recallAt),
    ...at('precision', retrieval.precisionAt),
    ['MAP@R', retrieval.mapAtR],
    ...at('mAP', retrieval.mapAt),
    ...Object.entries(fnmr).map(([rate, value]): [string, number] => [`FNMR@FMR=${rate}`, value]),
  ];
}
