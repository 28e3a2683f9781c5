import type { ComponentChoice, Item, Json, Prediction, TaskKind } from '../contracts/competition.js';
import type { KnnState, PostProcessContext, PostProcessor } from '../contracts/postprocessor.js';
import type { Simkit } from '../di/container.js';
import { searchNeighbours } from '../index/neighbours.js';
import type { VectorIndex } from '../index/vector-index.js';
import type { Indexer } from '../contracts/indexer.js';
import { predictionsOf } from './predictions.js';

export interface EmbeddedSet {
  readonly items: readonly Item[];
  /** items.length × dim, L2-normalised. */
  readonly vectors: Float32Array;
}

/** The label a gallery item votes for: its labels space-separated (one for single-label data). */
export function galleryLabel(item: Item): string {
  return item.labels.join(' ');
}

/** Builds the index named by the config over the gallery and searches every query. */
export function initialState(
  app: Simkit,
  indexer: ComponentChoice,
  dim: number,
  queries: EmbeddedSet,
  gallery: EmbeddedSet,
  k: number,
  options: { excludeSelf: boolean; distractors?: Float32Array },
): KnnState {
  const index: VectorIndex = app.registry<Indexer>('Indexer').create(indexer.name, indexer.options as Record<string, unknown>).create(dim);
  const galleryIds = gallery.items.map((item) => item.id);
  index.train(gallery.vectors);
  index.add(galleryIds, gallery.vectors);
  const queryIds = queries.items.map((item) => item.id);
  const neighbours = searchNeighbours(index, queryIds, queries.vectors, { k, excludeSelf: options.excludeSelf });
  return {
    dim,
    queryIds,
    queryVectors: queries.vectors,
    galleryIds,
    galleryVectors: gallery.vectors,
    galleryLabels: gallery.items.map(galleryLabel),
    neighbours,
    distractorVectors: options.distractors,
  };
}

/** Overrides of post-processor options, keyed `<postProcessor>.<option>` as in the config's `tune`. */
export type Overrides = Readonly<Record<string, number>>;

function chainOptions(choice: ComponentChoice, overrides: Overrides): Record<string, Json> {
  const options: Record<string, Json> = { ...choice.options };
  for (const [key, value] of Object.entries(overrides)) {
    const [name, option] = key.split('.');
    if (name === choice.name && option) options[option] = value;
  }
  return options;
}

/** Applies the configured post-processors in order, with tuned overrides, and reads off predictions. */
export function postProcess(
  app: Simkit,
  task: TaskKind,
  chain: readonly ComponentChoice[],
  state: KnnState,
  context: PostProcessContext,
  overrides: Overrides = {},
): Prediction[] {
  const registry = app.registry<PostProcessor>('PostProcessor');
  let current = state;
  for (const choice of chain) current = registry.create(choice.name, chainOptions(choice, overrides)).apply(current, context);
  return predictionsOf(task, current);
}

/**
 * The chain as the test set runs it: tuned overrides written into the options, plus what the
 * post-processors that learn from truth (`fit`) learn on the validation state. `fitted` lists the
 * learned options as `<postProcessor>.<option>`.
 */
export function fitChain(
  app: Simkit,
  chain: readonly ComponentChoice[],
  state: KnnState,
  context: PostProcessContext,
  overrides: Overrides,
  truth: readonly (readonly string[])[],
): { chain: ComponentChoice[]; fitted: Record<string, Json> } {
  const registry = app.registry<PostProcessor>('PostProcessor');
  const fitted: Record<string, Json> = {};
  let current = state;
  const fittedChain = chain.map((choice) => {
    let options = chainOptions(choice, overrides);
    let processor = registry.create(choice.name, options);
    if (processor.fit) {
      const learned = processor.fit(current, truth);
      for (const [option, value] of Object.entries(learned)) fitted[`${choice.name}.${option}`] = value;
      options = { ...options, ...learned };
      processor = registry.create(choice.name, options);
    }
    current = processor.apply(current, context);
    return { name: choice.name, options };
  });
  return { chain: fittedChain, fitted };
}
