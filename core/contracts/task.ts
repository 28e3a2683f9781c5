import type { ComponentChoice, Item, Prediction, SubmissionFormat, TaskKind, TestSet } from './competition.js';
import type { Usage } from './metric.js';
import type { KnnState, ModelName } from './postprocessor.js';

/**
 * What one kind of task decides in a run (core/tasks): which items validation searches and with
 * which truth, which gallery the test queries search, how the final kNN state becomes predictions,
 * which baselines a trained pipeline must beat, and how predictions and truth become Kaggle's rows.
 * The pipeline (core/pipeline/run.ts) holds no branch on the task kind; it asks the strategy.
 */
export interface TaskStrategy {
  readonly kind: TaskKind;
  /** Whether the search drops each query's own item (a retrieval query is never its own answer). */
  readonly excludeSelf: boolean;
  /** What validation searches. A query set that is also the gallery is the same array. */
  validationSets(train: readonly Item[], validation: readonly Item[]): ValidationItems;
  /** The set the test queries search: the labelled items, the retrieval index, or the queries themselves. */
  testGallery(test: TestSet, labelled: readonly Item[]): readonly Item[];
  /** One prediction per query from the final kNN state. */
  predictions(state: KnnState): Prediction[];
  /**
   * What a trained pipeline must beat, on the validation sets; `chain` is the configured post-processors,
   * `searchModel` the model whose neighbours they start from.
   */
  baselines(sets: ValidationItems, chain: readonly ChainStep[], searchModel: ModelName): Baseline[];
  /** A prediction as the submission's label cell. */
  submissionCell(prediction: Prediction, format: SubmissionFormat): string;
  /** A labelled item's truth as a solution cell; `Ignored` where nothing can be found for it. */
  solutionCell(
    item: Item,
    sets: { readonly truth: readonly Item[]; readonly index?: readonly Item[] },
  ): { readonly cell: string; readonly usage?: Usage };
}

export interface ValidationItems {
  readonly queries: readonly Item[];
  readonly gallery: readonly Item[];
  /** Whose labels are the truth (the queries). */
  readonly truth: readonly Item[];
  /** The searched set a retrieval truth is built from. */
  readonly index?: readonly Item[];
}

/** A configured post-processor and the trained models it reads. */
export interface ChainStep {
  readonly choice: ComponentChoice;
  readonly models: readonly ModelName[];
}

/**
 * Fixed predictions, or a part of the configured chain run like the full pipeline (tuned on the
 * tune keys of its post-processors); `withoutSearchNeighbours` starts it from empty neighbour rows.
 */
export type Baseline =
  | { readonly name: string; readonly predictions: readonly Prediction[] }
  | { readonly name: string; readonly chain: readonly ComponentChoice[]; readonly withoutSearchNeighbours: boolean };
