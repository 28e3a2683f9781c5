import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { BackboneBuilder, InputShape } from '../contracts/backbone.js';
import type { CompetitionConfig, Item, ModelCommon } from '../contracts/competition.js';
import type { Objective, ObjectiveConfig, Sampler } from '../contracts/loss.js';
import type { Simkit } from '../di/container.js';
import { NO_MINER, checkObjective, createObjective } from '../losses/objective.js';
import { retrievalMetrics } from '../metrics/retrieval.js';
import { saveModel } from '../models/io.js';
import { exactSearch } from '../search/neighbours.js';
import { UserError } from '../errors.js';
import { log } from '../log.js';
import { deriveSeed } from '../random.js';
import { checkBatchFits, plannedBatchSize } from '../training/batch-memory.js';
import { FINE_TUNING_DEFAULTS } from '../training/fine-tuning.js';
import { trainEmbedding, type TrainerOptions, type TrainingResult } from '../training/trainer.js';
import { trainingConfig } from './config.js';
import { embedInChunks, type ModelInputs } from './model-inputs.js';

/** A trained embedder: L2-normalised vectors for any items of its input kind (images or texts). */
export interface EmbeddingModel {
  readonly dim: number;
  /** How training went: epochs, validation per epoch, early stopping, resume. */
  readonly training: TrainingResult;
  embed(items: readonly Item[]): Promise<Float32Array>;
  dispose(): void;
}

/** The sampler name for shuffled fixed-size batches (no sampler). */
export const NO_SAMPLER = 'none';

function componentOptions(options: object): Record<string, unknown> {
  return options as Record<string, unknown>;
}

/** An item's label set as one string: what validation compares. */
function labelKey(item: Item): string {
  return item.labels.join(' ');
}

/** The loss, head and miner of a model, as createObjective takes them. */
export function objectiveConfig(spec: Pick<ModelCommon, 'head' | 'loss' | 'miner'>): ObjectiveConfig {
  return {
    head: spec.head.name,
    headOptions: componentOptions(spec.head.options),
    loss: spec.loss.name,
    lossOptions: componentOptions(spec.loss.options),
    ...(spec.miner && spec.miner.name !== NO_MINER
      ? { miner: spec.miner.name, minerOptions: componentOptions(spec.miner.options) }
      : {}),
  };
}

/**
 * Refuses a config with a model whose loss, head or miner cannot be built, before any data is read; returns whether
 * one of the models learns from labels.
 */
export function checkObjectives(app: Simkit, config: Pick<CompetitionConfig, 'models'>): boolean {
  return Object.values(config.models)
    .map((spec) => checkObjective(app, objectiveConfig(spec), spec.embeddingSize))
    .some((batch) => batch !== 'views');
}

/**
 * Retrieval metrics of the validation queries after an epoch. With a gallery (items of the classes
 * the queries belong to: an item split's training items), each query searches the gallery and R
 * counts the gallery items of its label; without one, the queries search each other (a label split
 * holds out whole classes), the query itself left out.
 */
export function validationMetrics(
  queries: Float32Array,
  queryLabels: readonly string[],
  dim: number,
  gallery?: { readonly vectors: Float32Array; readonly labels: readonly string[] },
): Record<string, number> {
  const searched = gallery ?? { vectors: queries, labels: queryLabels };
  const counts = new Map<string, number>();
  for (const label of searched.labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  const relevantCounts = queryLabels.map((label) => (counts.get(label) ?? 0) - (gallery ? 0 : 1));
  const k = Math.min(searched.labels.length, Math.max(10, ...relevantCounts) + (gallery ? 0 : 1));
  const rows = exactSearch(queries, searched.vectors, dim, k);
  const neighbours = rows.map((row, q) =>
    row.indices.filter((index) => gallery || index !== q).map((index) => searched.labels[index]!),
  );
  const metrics = retrievalMetrics(queryLabels, neighbours, { relevantCounts });
  return { 'precision@1': metrics.precisionAt1, 'MAP@R': metrics.mapAtR };
}

/** Where and how one model trains: its folder, the run's seed, resuming, and unreadable images. */
export interface ModelTrainingOptions {
  /** The model's folder: `checkpoints/`, `log.jsonl`, `model/`. */
  readonly dir: string;
  readonly seed: number;
  readonly resume?: boolean;
  readonly strict?: boolean;
  readonly maxBadImages?: number;
  /** What an item split's validation queries search (a sample of the training items). */
  readonly validationGallery?: readonly Item[];
  /** Where decoded training images are kept between runs (image models). */
  readonly cacheDir?: string;
  /** The items that cache holds when more than the training items (every fold's, shared by the folds). */
  readonly cacheItems?: readonly Item[];
}

/** Class ids of the training items (sorted labels), each item's class and each class's size. */
function classesOf(train: readonly Item[]): { count: number; labels: Int32Array; counts: number[] } {
  const classIds = [...new Set(train.map((item) => item.labels[0] ?? ''))].sort();
  const classIndex = new Map(classIds.map((label, index) => [label, index]));
  const labels = Int32Array.from(train, (item) => classIndex.get(item.labels[0] ?? '')!);
  const counts = classIds.map(() => 0);
  for (const label of labels) counts[label]! += 1;
  return { count: classIds.length, labels, counts };
}

/** The validation metrics after each epoch, or none with fewer than two validation items. */
function validator(
  embed: (items: readonly Item[]) => Promise<Float32Array>,
  dim: number,
  validation: readonly Item[],
  validationGallery: readonly Item[] | undefined,
): TrainerOptions['validate'] {
  if (validation.length <= 1) return undefined;
  const validationLabels = validation.map(labelKey);
  const galleryLabels = validationGallery?.map(labelKey);
  return async () => {
    const gallery =
      validationGallery && galleryLabels
        ? { vectors: await embed(validationGallery), labels: galleryLabels }
        : undefined;
    return validationMetrics(await embed(validation), validationLabels, dim, gallery);
  };
}

/** The training loop's options for a model. */
function trainerOptions(
  spec: ModelCommon,
  options: ModelTrainingOptions,
  sampler: Sampler | undefined,
  validate: TrainerOptions['validate'],
): TrainerOptions {
  const settings = trainingConfig(spec);
  return {
    epochs: spec.epochs,
    batchSize: spec.batchSize,
    learningRate: spec.learningRate,
    optimizer: { name: settings.optimizer, momentum: settings.momentum, weightDecay: settings.weightDecay },
    headLearningRateFactor: settings.headLearningRateFactor,
    warmupEpochs: Math.min(settings.warmupEpochs, spec.epochs - 1),
    clipNorm: settings.clipNorm,
    seed: options.seed,
    sampler,
    runDir: options.dir,
    resume: options.resume,
    keepCheckpoints: settings.keepCheckpoints,
    precision: settings.precision,
    ...(settings.fineTuning ? { fineTuning: { ...FINE_TUNING_DEFAULTS, ...settings.fineTuning } } : {}),
    maxSkippedShare: options.maxBadImages,
    earlyStopping: settings.earlyStopping.patience > 0 ? settings.earlyStopping : undefined,
    validate,
  };
}

/**
 * The backbone `build` makes, refused with the fix when the model must take any image size (progressive sizes,
 * test-time augmentation at other sizes) and it cannot: a fixed input, or layers such as a flattened map that need one.
 */
function anySizeChecked(spec: ModelCommon, shape: InputShape, build: () => tf.LayersModel): tf.LayersModel {
  const refusal = (why: string) =>
    new UserError(
      `backbone ${spec.backbone.name} ${why}, and progressive sizes or test-time augmentation at other sizes need ` +
        'a backbone that takes any image size',
      'use global pooling (pooling gem or average; residual-cnn, resnet-18, mobilenet-v2 cut before its final pool), ' +
        'or leave progressiveSizes and tta.sizes empty',
    );
  if (!shape.anySize) return build();
  let model: tf.LayersModel;
  try {
    model = build();
  } catch (error) {
    throw refusal(`cannot be built without a fixed image size (${(error as Error).message.split('\n')[0]})`);
  }
  const [, height, width] = model.inputs[0]!.shape;
  if (height !== null || width !== null) {
    model.dispose();
    throw refusal(`takes only ${height}×${width} images`);
  }
  return model;
}

/**
 * The backbone, the objective (head, loss, miner) and the sampler of the model called `name`, built from the
 * registries; its class matrices are seeded from the run's seed and the model's name.
 */
function buildModel(
  app: Simkit,
  name: string,
  spec: ModelCommon,
  inputs: ModelInputs,
  seed: number,
  classes: { count: number; counts: number[] },
): { model: tf.LayersModel; objective: Objective; sampler?: Sampler } {
  const sampler =
    spec.sampler.name === NO_SAMPLER
      ? undefined
      : app.registry<Sampler>('Sampler').create(spec.sampler.name, componentOptions(spec.sampler.options));
  // Before the backbone is built: a network over inputs that cannot train may not even fit in memory.
  checkBatchFits(plannedBatchSize(spec.batchSize, sampler), inputs.shape, inputs.kind);
  const build = app
    .registry<BackboneBuilder>('Backbone')
    .create(spec.backbone.name, componentOptions(spec.backbone.options));
  const model = anySizeChecked(spec, inputs.shape, () => build(inputs.shape, spec.embeddingSize, seed));
  const objective = createObjective(app, objectiveConfig(spec), {
    embeddingDim: spec.embeddingSize,
    numClasses: classes.count,
    classCounts: classes.counts,
    seed: deriveSeed(seed, 'model', name),
  });
  return { model, objective, sampler };
}

/**
 * Trains the model called `name` (backbone + objective, through `inputs`) on the training items
 * and returns an embedder. Validation retrieval metrics (precision@1, MAP@R: validationMetrics) are
 * logged each epoch; checkpoints go to `<dir>/checkpoints` and the model to `<dir>/model`.
 */
export async function trainEmbeddingModel(
  app: Simkit,
  name: string,
  spec: ModelCommon,
  inputs: ModelInputs,
  data: { readonly train: readonly Item[]; readonly validation: readonly Item[] },
  options: ModelTrainingOptions,
): Promise<EmbeddingModel> {
  const { train, validation } = data;
  const classes = classesOf(train);
  const { model, objective, sampler } = buildModel(app, name, spec, inputs, options.seed, classes);
  const embed = async (items: readonly Item[]): Promise<Float32Array> => {
    const out = new Float32Array(items.length * spec.embeddingSize);
    await embedInChunks(model, items, inputs, (start, vectors) => out.set(vectors, start * spec.embeddingSize));
    return out;
  };
  const augment = trainingConfig(spec).augment;
  const batches = inputs.trainingData(train, classes.labels, {
    augment,
    seed: options.seed,
    strict: options.strict,
    cacheDir: options.cacheDir,
    cacheItems: options.cacheItems,
  });
  log.info(
    `training the ${name} model (${spec.backbone.name}, ${objective.description}) on ${train.length} items of ${classes.count} classes`,
  );
  const validate = validator(embed, spec.embeddingSize, validation, options.validationGallery);
  let training: TrainingResult;
  try {
    training = await trainEmbedding(model, objective, batches, trainerOptions(spec, options, sampler, validate));
  } finally {
    objective.dispose();
  }
  await saveModel(model, join(options.dir, 'model'));
  return { dim: spec.embeddingSize, training, embed, dispose: () => model.dispose() };
}
