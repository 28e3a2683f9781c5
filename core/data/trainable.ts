import type { CompetitionConfig, Item, TestSet } from '../contracts/competition.js';
import { InputError } from '../errors.js';

/** Where the items came from, for messages: the data folder and the label column's name. */
export interface TrainableSource {
  readonly dataDir: string;
  /** The label every unmatched item carries (`new_whale`), left out of training. */
  readonly unknownLabel?: string;
}

/**
 * Refuses, before any training, train items an embedding cannot be learnt from: fewer than two
 * classes (one class, or every item the unknown label) or no class with two items (every class a
 * singleton: no positive pair exists). `items` are the items training would use.
 */
export function checkTrainableClasses(items: readonly Item[], all: readonly Item[], source: TrainableSource): void {
  const sizes = new Map<string, number>();
  for (const item of items) for (const label of item.labels) sizes.set(label, (sizes.get(label) ?? 0) + 1);
  const unknown = source.unknownLabel ? all.filter((item) => item.labels.includes(source.unknownLabel!)).length : 0;
  const leftOut =
    unknown > 0
      ? ` (${unknown} item(s) labelled "${source.unknownLabel}", the unknown label, are no class to learn)`
      : '';
  const needs = 'an embedding is learnt from at least two classes, some with two or more items';
  if (sizes.size < 2) {
    const classes = sizes.size > 0 ? ` (${[...sizes.keys()].map((label) => `"${label}"`).join(', ')})` : '';
    throw new InputError(
      source.dataDir,
      undefined,
      undefined,
      `the ${items.length} item(s) to train on hold ${sizes.size} class(es)${classes} ` +
        `of the ${all.length} train item(s)${leftOut}: ${needs}`,
    );
  }
  if (![...sizes.values()].some((size) => size >= 2))
    throw new InputError(
      source.dataDir,
      undefined,
      undefined,
      `each of the ${sizes.size} classes to train on has a single item${leftOut}: ${needs} (a positive pair)`,
    );
}

/** Refuses a set whose every text is empty when the run trains a text model on it. */
export function checkTexts(items: readonly Item[], what: string, dataDir: string): void {
  if (items.length === 0 || items.some((item) => (item.text ?? '').trim() !== '')) return;
  throw new InputError(
    dataDir,
    undefined,
    undefined,
    `every one of the ${items.length} ${what} item(s) has an empty text: the text model has nothing to read`,
  );
}

/** Everything about a run's data that would make its training or search meaningless, checked before training. */
export function checkTrainingData(run: {
  readonly train: readonly Item[];
  readonly all: readonly Item[];
  readonly test: TestSet;
  readonly dataDir: string;
  readonly unknownLabel?: string;
  readonly learnsFromLabels: boolean;
  readonly config: Pick<CompetitionConfig, 'models'>;
}): void {
  if (run.learnsFromLabels) checkTrainableClasses(run.train, run.all, run);
  if (Object.values(run.config.models).some((model) => model.input === 'text')) {
    checkTexts(run.all, 'train', run.dataDir);
    checkTexts(run.test.queries, 'test', run.dataDir);
  }
}
