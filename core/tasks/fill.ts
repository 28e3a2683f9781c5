import type { Prediction } from '../contracts/competition.js';
import type { KnnState } from '../contracts/postprocessor.js';
import type { TaskStrategy } from '../contracts/task.js';
import { labelsByFrequency } from './labels.js';

/** What may follow a row's own answers, best first: labels (or ids) of its further neighbours, then the rest. */
type Candidates = (state: KnnState) => (query: number) => Iterable<string>;

/** Labels of the row's neighbours in rank order (all of them, not only those that voted), then frequent classes. */
const labelCandidates: Candidates = (state) => {
  const labels = state.galleryLabels ?? [];
  const frequent = labelsByFrequency(labels.map((cell) => cell.split(' '))).map(([label]) => label);
  return function* (query) {
    for (const g of state.neighbours[query]?.indices ?? []) yield* labels[g]!.split(' ');
    yield* frequent;
  };
};

/** Ids of the row's neighbours in rank order, then the rest of the searched set in its order. */
const idCandidates: Candidates = (state) =>
  function* (query) {
    for (const g of state.neighbours[query]?.indices ?? []) yield state.galleryIds[g]!;
    yield* state.galleryIds;
  };

const CANDIDATES: Partial<Record<TaskStrategy['kind'], Candidates>> = {
  classify: labelCandidates,
  retrieve: idCandidates,
};

/** Appends candidates not yet in the row (score 0) until it holds `count` answers or the candidates run out. */
export function fillRow(prediction: Prediction, count: number, candidates: Iterable<string>): Prediction {
  if (prediction.labels.length >= count) return prediction;
  const labels = [...prediction.labels];
  const scores = prediction.scores ? [...prediction.scores] : undefined;
  const seen = new Set(labels);
  for (const candidate of candidates) {
    if (labels.length >= count) break;
    if (candidate === '' || seen.has(candidate)) continue;
    seen.add(candidate);
    labels.push(candidate);
    scores?.push(0);
  }
  return scores ? { ...prediction, labels, scores } : { ...prediction, labels };
}

/**
 * The strategy with every prediction row filled up to the `counted` answers a ranked metric
 * scores (MAP@5: five): further neighbours first, then the most frequent classes (for a retrieval
 * task, the rest of the searched set). Under MAP@k a guess after the last one can only add points,
 * so a short row gives them away. Tasks whose answers are sets (match, multilabel) or one label
 * with a confidence (recognize) are returned unchanged, as is any task when `counted` is undefined.
 */
export function filledToCount(strategy: TaskStrategy, counted: number | undefined): TaskStrategy {
  const candidates = CANDIDATES[strategy.kind];
  if (counted === undefined || !candidates) return strategy;
  return {
    ...strategy,
    predictions: (state) => {
      const of = candidates(state);
      return strategy.predictions(state).map((prediction, q) => fillRow(prediction, counted, of(q)));
    },
  };
}
