import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackboneBuilder, InputShape } from '../contracts/backbone.js';
import type { Competition, CompetitionConfig, Item, ModelSpec, TextModelConfig } from '../contracts/competition.js';
import type { ObjectiveConfig, Sampler } from '../contracts/loss.js';
import type { Simkit } from '../di/container.js';
import type { AugmentOptions } from '../data/augment.js';
import { loadImages } from '../data/images.js';
import { hashedTokenBatch } from '../data/text.js';
import { UserError } from '../errors.js';
import { l2Normalize } from '../tensors.js';
import { NO_MINER, checkObjective, createObjective } from '../losses/objective.js';
import { retrievalMetrics } from '../metrics/retrieval.js';
import { saveModel } from '../models/io.js';
import { exactSearch } from '../index/neighbours.js';
import { log } from '../log.js';
import { itemProgress } from '../progress.js';
import { Random } from '../random.js';
import { checkBatchFits, plannedBatchSize } from '../training/batch-memory.js';
import { imageStreamData, inMemoryData, type TrainingData } from '../training/data.js';
import { FINE_TUNING_DEFAULTS } from '../training/fine-tuning.js';
import { trainEmbedding, type TrainingResult } from '../training/trainer.js';
import { trainingConfig } from './config.js';

/** A trained embedder: L2-normalised vectors for any items of its input kind (images or texts). */
export interface EmbeddingModel {
  readonly dim: number;
  /** How training went: epochs, validation per epoch, early stopping, resume. */
  readonly training: TrainingResult;
  embed(items: readonly Item[]): Promise<Float32Array>;
  dispose(): void;
}

/**
 * How a model's inputs are made from items: the backbone's input shape, training batches, and input tensors to embed.
 */
export interface ModelInputs {
  readonly kind: string;
  readonly shape: InputShape;
  trainingData(
    items: readonly Item[],
    labels: Int32Array,
    options: { augment: AugmentOptions; seed: number; strict?: boolean },
  ): TrainingData;
  /** The input tensor of a chunk of items (the caller disposes it). */
  tensor(items: readonly Item[]): Promise<tf.Tensor>;
}

const EMBED_CHUNK = 256;

/** The sampler name for shuffled fixed-size batches (no sampler). */
export const NO_SAMPLER = 'none';

/**
 * Images resized to imageSize × imageSize (four channels for `image4`), streamed from the decoder pool while training.
 */
export function imageInputs(
  competition: Competition,
  config: Pick<CompetitionConfig, 'imageSize'>,
  strict?: boolean,
): ModelInputs {
  const size = config.imageSize;
  const channels = competition.modality === 'image4' ? 4 : 3;
  return {
    kind: 'image',
    shape: { height: size, width: size, channels },
    trainingData: (items, labels, options) => imageStreamData(items, labels, { size, channels, ...options }),
    tensor: async (items) =>
      tf.tensor4d((await loadImages(items, { size, channels, strict })).data, [items.length, size, size, channels]),
  };
}

/** Item texts as hashed n-gram ids for a token backbone; `buckets` is the backbone's hash range. */
export function textInputs(config: TextModelConfig, buckets: number): ModelInputs {
  const tokens = { buckets, maxTokens: config.maxTokens, ngrams: config.ngrams };
  const ids = (items: readonly Item[]) =>
    hashedTokenBatch(
      items.map((item) => item.text ?? ''),
      tokens,
    );
  return {
    kind: 'text',
    shape: { height: 1, width: config.maxTokens, channels: 1 },
    trainingData: (items, labels) => inMemoryData({ data: ids(items), shape: [config.maxTokens], labels }),
    tensor: async (items) => tf.tensor2d(ids(items), [items.length, config.maxTokens], 'int32'),
  };
}

/** The text model's inputs, with the hash range read from its backbone's effective `buckets` option. */
export function textInputsFor(app: Simkit, config: TextModelConfig): ModelInputs {
  const registered = app.registry<BackboneBuilder>('Backbone').get(config.backbone.name);
  const buckets = { ...(registered.defaults as Record<string, unknown>), ...config.backbone.options }.buckets;
  if (typeof buckets !== 'number') {
    throw new UserError(
      `textModel.backbone "${config.backbone.name}" has no \`buckets\` option: the text model needs a token backbone`,
      'use the text-encoder backbone',
    );
  }
  return textInputs(config, buckets);
}

/**
 * Runs `model` over `items` in chunks (inputs made per chunk, so memory stays bounded) and hands
 * each chunk's L2-normalised vectors to `sink` with the chunk's first position.
 */
export async function embedInChunks(
  model: tf.LayersModel,
  items: readonly Item[],
  inputs: ModelInputs,
  sink: (start: number, vectors: Float32Array) => void | Promise<void>,
): Promise<void> {
  const progress = itemProgress(`embedding ${inputs.kind}s`, items.length);
  try {
    for (let start = 0; start < items.length; start += EMBED_CHUNK) {
      const chunk = items.slice(start, start + EMBED_CHUNK);
      const x = await inputs.tensor(chunk);
      const vectors = tf.tidy(() => l2Normalize(model.predict(x) as tf.Tensor2D));
      x.dispose();
      const values = (await vectors.data()) as Float32Array;
      vectors.dispose();
      await sink(start, values);
      progress.advance(chunk.length);
    }
  } finally {
    progress.stop();
  }
}

/** An item's label set as one string: what validation compares. */
function labelKey(item: Item): string {
  return item.labels.join(' ');
}

function componentOptions(options: object): Record<string, unknown> {
  return options as Record<string, unknown>;
}

/** The loss, head and miner of a model spec, as createObjective takes them. */
export function objectiveConfig(spec: Pick<ModelSpec, 'head' | 'loss' | 'miner'>): ObjectiveConfig {
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
 * Refuses a config whose loss, head or miner (of the image model and the text model) cannot be built, before any data
 * is read.
 */
/** Refuses a bad objective of any model of the run early; returns whether one of them learns from labels. */
export function checkObjectives(app: Simkit, config: CompetitionConfig): boolean {
  return [config, ...(config.textModel ? [config.textModel] : [])]
    .map((spec) => checkObjective(app, objectiveConfig(spec), spec.embeddingSize))
    .some((batch) => batch !== 'views');
}

/** How many training items at most the validation queries of an item split search each epoch. */
export const VALIDATION_GALLERY_LIMIT = 2000;

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

/** Where and how a run trains its models: its folder, its seed, resuming, and unreadable images. */
export interface ModelTrainingOptions {
  readonly runDir: string;
  readonly seed: number;
  readonly resume?: boolean;
  readonly strict?: boolean;
  readonly maxBadImages?: number;
}

/**
 * Trains `spec`'s backbone + objective on the training items (through `inputs`) and returns an
 * embedder. Validation retrieval metrics (precision@1, MAP@R: validationMetrics, against
 * `validationGallery` when given) are logged each epoch; checkpoints go to `<runDir>/checkpoints`
 * and the model to `<runDir>/model`.
 */
export async function trainEmbeddingModel(
  app: Simkit,
  spec: ModelSpec,
  inputs: ModelInputs,
  train: readonly Item[],
  validation: readonly Item[],
  options: ModelTrainingOptions & { readonly validationGallery?: readonly Item[] },
): Promise<EmbeddingModel> {
  const classIds = [...new Set(train.map((item) => item.labels[0] ?? ''))].sort();
  const classIndex = new Map(classIds.map((label, index) => [label, index]));
  const labels = Int32Array.from(train, (item) => classIndex.get(item.labels[0] ?? '')!);
  const classCounts = classIds.map(() => 0);
  for (const label of labels) classCounts[label]! += 1;

  const build = app
    .registry<BackboneBuilder>('Backbone')
    .create(spec.backbone.name, componentOptions(spec.backbone.options));
  const model = build(inputs.shape, spec.embeddingSize, options.seed);
  const objective = createObjective(app, objectiveConfig(spec), {
    embeddingDim: spec.embeddingSize,
    numClasses: classIds.length,
    classCounts,
  });
  const sampler =
    spec.sampler.name === NO_SAMPLER
      ? undefined
      : app.registry<Sampler>('Sampler').create(spec.sampler.name, componentOptions(spec.sampler.options));
  checkBatchFits(plannedBatchSize(spec.batchSize, sampler), inputs.shape, inputs.kind);

  const embed = async (items: readonly Item[]): Promise<Float32Array> => {
    const out = new Float32Array(items.length * spec.embeddingSize);
    await embedInChunks(model, items, inputs, (start, vectors) => out.set(vectors, start * spec.embeddingSize));
    return out;
  };

  const settings = trainingConfig(spec);
  const data = inputs.trainingData(train, labels, {
    augment: settings.augment,
    seed: options.seed,
    strict: options.strict,
  });
  const validationLabels = validation.map(labelKey);
  const galleryLabels = options.validationGallery?.map(labelKey);
  log.info(
    `training the ${inputs.kind} model (${spec.backbone.name}, ${objective.description}) on ${train.length} items of ${classIds.length} classes`,
  );
  let training: TrainingResult;
  try {
    training = await trainEmbedding(model, objective, data, {
      epochs: spec.epochs,
      batchSize: spec.batchSize,
      learningRate: spec.learningRate,
      optimizer: { name: settings.optimizer, momentum: settings.momentum, weightDecay: settings.weightDecay },
      headLearningRateFactor: settings.headLearningRateFactor,
      warmupEpochs: Math.min(settings.warmupEpochs, spec.epochs - 1),
      clipNorm: settings.clipNorm,
      seed: options.seed,
      sampler,
      runDir: options.runDir,
      resume: options.resume,
      keepCheckpoints: settings.keepCheckpoints,
      ...(settings.fineTuning ? { fineTuning: { ...FINE_TUNING_DEFAULTS, ...settings.fineTuning } } : {}),
      maxSkippedShare: options.maxBadImages,
      earlyStopping: settings.earlyStopping.patience > 0 ? settings.earlyStopping : undefined,
      validate:
        validation.length > 1
          ? async () => {
              const gallery =
                options.validationGallery && galleryLabels
                  ? { vectors: await embed(options.validationGallery), labels: galleryLabels }
                  : undefined;
              return validationMetrics(await embed(validation), validationLabels, spec.embeddingSize, gallery);
            }
          : undefined,
    });
  } finally {
    objective.dispose();
  }
  await saveModel(model, join(options.runDir, 'model'));
  return { dim: spec.embeddingSize, training, embed, dispose: () => model.dispose() };
}

/**
 * A competition's trained models: the image model, and a text model where the config has one and the items carry text.
 */
export interface CompetitionModels {
  readonly image: EmbeddingModel;
  readonly text?: EmbeddingModel;
  dispose(): void;
}

/** The directory of the text model's checkpoints and saved model inside a run directory. */
export const TEXT_MODEL_DIR = 'text-model';

/**
 * Trains the image model in `runDir` and, for text+image competitions with a `textModel`, the text model in
 * `runDir/text-model`.
 */
export async function trainCompetitionModels(
  app: Simkit,
  competition: Competition,
  config: CompetitionConfig,
  train: readonly Item[],
  validation: readonly Item[],
  options: ModelTrainingOptions,
): Promise<CompetitionModels> {
  // An item split validates known classes: its queries search (a sample of) the training items.
  const validationGallery =
    config.validation.by === 'item'
      ? new Random(options.seed).shuffle([...train]).slice(0, VALIDATION_GALLERY_LIMIT)
      : undefined;
  const image = await trainEmbeddingModel(
    app,
    config,
    imageInputs(competition, config, options.strict),
    train,
    validation,
    { ...options, validationGallery },
  );
  if (!config.textModel || competition.modality !== 'text+image') return { image, dispose: () => image.dispose() };
  try {
    const text = await trainEmbeddingModel(
      app,
      config.textModel,
      textInputsFor(app, config.textModel),
      train,
      validation,
      {
        ...options,
        validationGallery,
        runDir: join(options.runDir, TEXT_MODEL_DIR),
      },
    );
    return { image, text, dispose: () => [image, text].forEach((model) => model.dispose()) };
  } catch (error) {
    image.dispose();
    throw error;
  }
}
