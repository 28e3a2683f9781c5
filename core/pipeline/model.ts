import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackboneBuilder } from '../contracts/backbone.js';
import type { Competition, CompetitionConfig, Item } from '../contracts/competition.js';
import type { BatchSampler, Sampler } from '../contracts/loss.js';
import type { Simkit } from '../di/container.js';
import { loadImages } from '../data/images.js';
import { UserError } from '../errors.js';
import { l2Normalize } from '../losses/class-matrix.js';
import { createObjective } from '../losses/objective.js';
import { retrievalMetrics } from '../metrics/retrieval.js';
import { saveModel } from '../models/io.js';
import { imageStreamData } from '../training/data.js';
import { trainEmbedding, type TrainingResult } from '../training/trainer.js';
import { trainingConfig } from './config.js';

/** A trained image embedder: L2-normalised vectors for any items of the competition's modality. */
export interface EmbeddingModel {
  readonly dim: number;
  /** How training went: epochs, validation per epoch, early stopping, resume. */
  readonly training: TrainingResult;
  embed(items: readonly Item[]): Promise<Float32Array>;
  dispose(): void;
}

const EMBED_CHUNK = 256;

function channelsOf(competition: Competition): number {
  return competition.modality === 'image4' ? 4 : 3;
}

/**
 * Runs `model` over `items` in chunks (images decoded per chunk, so memory stays bounded) and
 * hands each chunk's L2-normalised vectors to `sink` with the chunk's first position.
 */
export async function embedInChunks(
  model: tf.LayersModel,
  items: readonly Item[],
  competition: Competition,
  config: CompetitionConfig,
  sink: (start: number, vectors: Float32Array) => void | Promise<void>,
): Promise<void> {
  const size = config.imageSize;
  const channels = channelsOf(competition);
  for (let start = 0; start < items.length; start += EMBED_CHUNK) {
    const chunk = items.slice(start, start + EMBED_CHUNK);
    const { data } = await loadImages(chunk, { size, channels });
    const vectors = tf.tidy(() => l2Normalize(model.predict(tf.tensor4d(data, [chunk.length, size, size, channels])) as tf.Tensor2D));
    const values = (await vectors.data()) as Float32Array;
    vectors.dispose();
    await sink(start, values);
  }
}

function componentOptions(options: object): Record<string, unknown> {
  return options as Record<string, unknown>;
}

/** Top-k labels of each row's nearest other rows, by inner product (validation sizes only). */
function neighbourLabels(vectors: Float32Array, dim: number, labels: readonly string[], k: number): string[][] {
  return tf.tidy(() => {
    const matrix = tf.tensor2d(vectors, [labels.length, dim]);
    const similarity = tf.matMul(matrix, matrix, false, true).sub(tf.eye(labels.length).mul(10));
    const { indices } = tf.topk(similarity, Math.min(k, labels.length - 1));
    const rows = indices.arraySync() as number[][];
    return rows.map((row) => row.map((index) => labels[index]!));
  });
}

/**
 * Trains the configured backbone + objective on the training items' images and returns an
 * embedder. Validation retrieval metrics (precision@1, MAP@R among the validation items) are
 * logged each epoch; the model is saved to `<runDir>/model`.
 */
export async function trainEmbeddingModel(
  app: Simkit,
  competition: Competition,
  config: CompetitionConfig,
  train: readonly Item[],
  validation: readonly Item[],
  options: { runDir: string; seed: number; resume?: boolean; strict?: boolean },
): Promise<EmbeddingModel> {
  const size = config.imageSize;
  const channels = channelsOf(competition);
  const classIds = [...new Set(train.map((item) => item.labels[0] ?? ''))].sort();
  const classIndex = new Map(classIds.map((label, index) => [label, index]));
  const labels = Int32Array.from(train, (item) => classIndex.get(item.labels[0] ?? '')!);
  const classCounts = classIds.map(() => 0);
  for (const label of labels) classCounts[label]! += 1;

  const build = app.registry<BackboneBuilder>('Backbone').create(config.backbone.name, componentOptions(config.backbone.options));
  const model = build({ height: size, width: size, channels }, config.embeddingSize, options.seed);
  const objective = createObjective(
    app,
    { head: config.head.name, headOptions: componentOptions(config.head.options), loss: config.loss.name, lossOptions: componentOptions(config.loss.options) },
    { embeddingDim: config.embeddingSize, numClasses: classIds.length, classCounts },
  );
  const samplers = app.registry<Sampler>('Sampler');
  let sampler: BatchSampler | undefined;
  if (samplers.has(config.sampler.name)) {
    const created = samplers.create(config.sampler.name, componentOptions(config.sampler.options));
    if (created.kind !== 'batches') throw new UserError(`sampler "${config.sampler.name}" yields pairs; the pipeline trains on labelled batches`);
    sampler = created;
  }

  const embed = async (items: readonly Item[]): Promise<Float32Array> => {
    const out = new Float32Array(items.length * config.embeddingSize);
    await embedInChunks(model, items, competition, config, (start, vectors) => out.set(vectors, start * config.embeddingSize));
    return out;
  };

  const settings = trainingConfig(config);
  const data = imageStreamData(train, labels, { size, channels, augment: settings.augment, seed: options.seed, strict: options.strict });
  const validationLabels = validation.map((item) => item.labels.join(' '));
  let training: TrainingResult;
  try {
    training = await trainEmbedding(model, objective, data, {
      epochs: config.epochs,
      batchSize: config.batchSize,
      learningRate: config.learningRate,
      optimizer: { name: settings.optimizer, momentum: settings.momentum, weightDecay: settings.weightDecay },
      headLearningRateFactor: settings.headLearningRateFactor,
      warmupEpochs: Math.min(settings.warmupEpochs, config.epochs - 1),
      clipNorm: settings.clipNorm,
      seed: options.seed,
      sampler,
      runDir: options.runDir,
      resume: options.resume,
      keepCheckpoints: settings.keepCheckpoints,
      earlyStopping: settings.earlyStopping.patience > 0 ? settings.earlyStopping : undefined,
      validate:
        validation.length > 1
          ? async () => {
              const metrics = retrievalMetrics(validationLabels, neighbourLabels(await embed(validation), config.embeddingSize, validationLabels, 10));
              return { 'precision@1': metrics.precisionAt1, 'MAP@R': metrics.mapAtR };
            }
          : undefined,
    });
  } finally {
    objective.dispose();
  }
  await saveModel(model, join(options.runDir, 'model'));
  return { dim: config.embeddingSize, training, embed, dispose: () => model.dispose() };
}
