import type { ComponentChoice, CompetitionConfig, Item, Json, Prediction } from '../contracts/competition.js';
import type { Indexer } from '../contracts/indexer.js';
import type { KnnState, ModelVectors, PostProcessContext, PostProcessor } from '../contracts/postprocessor.js';
import type { ChainStep, TaskStrategy } from '../contracts/task.js';
import type { Simkit } from '../di/container.js';
import { UserError } from '../errors.js';
import type { ItemProgress } from '../progress.js';
import { searchNeighbours } from '../search/neighbours.js';
import { satisfies } from '../di/option-ranges.js';
import type { NumberRule } from '../contracts/registration.js';
import { ENSEMBLE } from './ensemble.js';

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
  options: {
    excludeSelf: boolean;
    distractors?: Float32Array;
    /** The model whose vectors `queries` and `gallery` are. */
    searchModel?: string;
    /** The other models' vectors of the same queries and gallery, by name. */
    models?: Readonly<Record<string, ModelVectors>>;
    /** The training items in the search model's vectors, for a post-processor that learns from them. */
    training?: EmbeddedSet;
  },
): KnnState {
  const index = app.registry<Indexer>('Indexer').create(indexer.name, indexer.options).build(dim, gallery.vectors);
  const galleryIds = gallery.items.map((item) => item.id);
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
    queryItems: queries.items,
    galleryItems: gallery.items,
    ...(options.searchModel !== undefined ? { searchModel: options.searchModel } : {}),
    ...(options.models ? { models: options.models } : {}),
    ...(options.training
      ? {
          training: {
            ids: options.training.items.map((item) => item.id),
            vectors: options.training.vectors,
            labels: options.training.items.map(galleryLabel),
          },
        }
      : {}),
  };
}

/** Whether a post-processor of the chain learns from the training items (`state.training`). */
export function learnsFromTraining(app: Simkit, chain: readonly ComponentChoice[]): boolean {
  const registry = app.registry<PostProcessor>('PostProcessor');
  return chain.some((choice) => registry.create(choice.name, choice.options).learnsFromTraining === true);
}

/** The state with every neighbour row empty: what is left of a chain runs without the search model's neighbours. */
export function withoutNeighbours(state: KnnState): KnnState {
  return { ...state, neighbours: state.neighbours.map(() => ({ indices: [], similarities: [] })) };
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

/**
 * Checks, before any expensive work, that every tuned key `<postProcessor>.<option>` names a
 * post-processor of the chain and one of its options.
 */
export function checkTuneKeys(app: Simkit, config: Pick<CompetitionConfig, 'postProcessors' | 'tune'>): void {
  const registry = app.registry<PostProcessor>('PostProcessor');
  const chain = new Set(config.postProcessors.map((choice) => choice.name));
  for (const key of Object.keys(config.tune)) {
    const [name = '', option = ''] = key.split('.');
    // An ensemble's weights (`ensemble.<model>`) are checked with the ensemble.
    if (name === ENSEMBLE) continue;
    if (!chain.has(name)) {
      throw new UserError(
        `tune key "${key}" names no post-processor of the chain`,
        `postProcessors: ${[...chain].join(', ') || '(none)'}; keys are <postProcessor>.<option>`,
      );
    }
    const options = Object.keys(registry.get(name).defaults);
    if (!options.includes(option))
      throw new UserError(
        `tune key "${key}": ${name} has no option "${option}"`,
        `its options: ${options.join(', ') || '(none)'}`,
      );
  }
}

/** Whether the tune key `<postProcessor>.<option>` may take `value`: within the range the post-processor declares. */
export function withinOptionRange(app: Simkit, key: string, value: number): boolean {
  const [name, option] = key.split('.') as [string, string];
  const registry = app.registry<PostProcessor>('PostProcessor');
  const range = registry.has(name)
    ? (registry.get(name).ranges as Record<string, NumberRule> | undefined)?.[option]
    : undefined;
  return !range || satisfies(value, range);
}

/** The tune keys of the post-processors of `chain`. */
export function tuneOf(chain: readonly ComponentChoice[], tune: CompetitionConfig['tune']): CompetitionConfig['tune'] {
  const names = new Set(chain.map((choice) => choice.name));
  return Object.fromEntries(Object.entries(tune).filter(([key]) => names.has(key.split('.')[0]!)));
}

/**
 * Each configured post-processor with the trained models it reads (the search model's neighbours unless it says
 * otherwise).
 */
export function chainSteps(app: Simkit, chain: readonly ComponentChoice[], searchModel: string): ChainStep[] {
  const registry = app.registry<PostProcessor>('PostProcessor');
  return chain.map((choice) => ({
    choice,
    models: registry.create(choice.name, choice.options).models ?? [searchModel],
  }));
}

/** Refuses, before any work, a post-processor that reads a model the config does not have. */
export function checkChainModels(
  app: Simkit,
  config: Pick<CompetitionConfig, 'models' | 'postProcessors' | 'search' | 'ensemble'>,
): void {
  const names = [...Object.keys(config.models), ...(config.ensemble ? [ENSEMBLE] : [])];
  for (const step of chainSteps(app, config.postProcessors, config.search ?? names[0]!)) {
    const unknown = step.models.filter((model) => !names.includes(model));
    if (unknown.length > 0)
      throw new UserError(
        `post-processor ${step.choice.name} reads model "${unknown[0]}", which the config does not have`,
        `models: ${names.join(', ')}; name one of them in its options, or add the model under models`,
      );
  }
}

/**
 * Applies the configured post-processors in order, with tuned overrides, and reads off the strategy's predictions;
 * `progress` advances by one per post-processor.
 */
export function postProcess(
  app: Simkit,
  strategy: TaskStrategy,
  chain: readonly ComponentChoice[],
  state: KnnState,
  context: PostProcessContext,
  overrides: Overrides = {},
  progress?: Pick<ItemProgress, 'advance'>,
): Prediction[] {
  const registry = app.registry<PostProcessor>('PostProcessor');
  let current = state;
  for (const choice of chain) {
    current = registry.create(choice.name, chainOptions(choice, overrides)).apply(current, context);
    progress?.advance(1);
  }
  return strategy.predictions(current);
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
