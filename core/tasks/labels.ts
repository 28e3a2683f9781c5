import type { Item, Prediction, TaskKind } from '../contracts/competition.js';
import type { KnnState } from '../contracts/postprocessor.js';
import type { Baseline, TaskStrategy } from '../contracts/task.js';
import { UserError } from '../errors.js';
import { submissionCell } from './cells.js';

/** Labels by how many of the label lists carry them, most frequent first (ties by label). */
export function labelsByFrequency(labelLists: Iterable<readonly string[]>): [string, number][] {
  const counts = new Map<string, number>();
  for (const labels of labelLists) for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

const labelsOf = (items: readonly Item[]) => items.map((item) => item.labels);

/** The ranked labels a label post-processor (kNN voting) produced, one row per query. */
function rankedLabels(kind: TaskKind, state: KnnState): Prediction[] {
  return state.queryIds.map((id, q) => {
    const ranked = state.predictions?.[q];
    if (!ranked) {
      throw new UserError(
        `the ${kind} task needs label predictions, but no post-processor produced them`,
        'add a label post-processor such as knn-vote to postProcessors in the config',
      );
    }
    return { id, labels: [...ranked.labels], scores: [...ranked.scores] };
  });
}

/** The most frequent training labels, ranked, with each label's share as its score. */
function mostFrequent(queries: readonly Item[], gallery: readonly Item[]): Baseline[] {
  const frequent = labelsByFrequency(labelsOf(gallery));
  const labels = frequent.map(([label]) => label);
  const scores = frequent.map(([, count]) => count / gallery.length);
  return [{ name: 'most frequent class', predictions: queries.map((item) => ({ id: item.id, labels, scores })) }];
}

/**
 * Every row gets the labels themselves, not a ranking, so "most frequent" is one label; every label
 * on every row is the other trivial answer (it scores above zero on every class present).
 */
function multilabelBaselines(queries: readonly Item[], gallery: readonly Item[]): Baseline[] {
  const labels = labelsByFrequency(labelsOf(gallery)).map(([label]) => label);
  return [
    { name: 'most frequent class', predictions: queries.map((item) => ({ id: item.id, labels: labels.slice(0, 1) })) },
    { name: 'every class', predictions: queries.map((item) => ({ id: item.id, labels })) },
  ];
}

/**
 * Tasks answered with labels voted by the training items: validation items search the training
 * items, test items search every labelled item; truth is an item's own labels.
 */
function labelTask(
  kind: 'classify' | 'recognize' | 'multilabel',
  baselines: (queries: readonly Item[], gallery: readonly Item[]) => Baseline[],
): TaskStrategy {
  return {
    kind,
    excludeSelf: false,
    validationSets: (train, validation) => ({ queries: validation, gallery: train, truth: validation }),
    testGallery: (_test, labelled) => labelled,
    predictions: (state) => rankedLabels(kind, state),
    baselines: (sets) => baselines(sets.queries, sets.gallery),
    submissionCell,
    solutionCell: (item) => ({ cell: item.labels.join(' ') }),
  };
}

/** Ranked class ids (Hotel-ID, Herbarium, whales). */
export const classifyTask = labelTask('classify', mostFrequent);
/** One class and a confidence, or nothing (landmark recognition). */
export const recognizeTask = labelTask('recognize', mostFrequent);
/** A set of class ids (Protein Atlas). */
export const multilabelTask = labelTask('multilabel', multilabelBaselines);
