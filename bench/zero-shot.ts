// Fashion-MNIST zero-shot retrieval, the field's protocol: train on classes 0–4, retrieve among the
// test images of classes 5–9 (each image queries the other 4,999; R = 999), MAP@R. Shared by
// `make fashion-mnist` (bench/fashion-mnist.ts) and the short exploration script
// (bench/fashion-mnist-zero-shot.ts).
import * as tf from '@tensorflow/tfjs';
import type { BackboneBuilder } from '../core/contracts/backbone.js';
import type { ObjectiveConfig, Sampler } from '../core/contracts/loss.js';
import type { Simkit } from '../core/di/container.js';
import { searchNeighbours } from '../core/search/neighbours.js';
import { VectorIndex } from '../core/search/vector-index.js';
import { l2Normalize } from '../core/losses/class-matrix.js';
import { createObjective } from '../core/losses/objective.js';
import { retrievalMetrics } from '../core/metrics/retrieval.js';
import type { Random } from '../core/random.js';
import { trainEmbedding, type TrainerOptions } from '../core/training/trainer.js';
import type { TrainingData } from '../core/training/data.js';
import type { FineTuningOptions } from '../core/training/fine-tuning.js';
import { pixelVectors, subset, type Split } from '../competitions/fashion-mnist/dataset.js';
import { euclideanNeighbours } from '../competitions/fashion-mnist/pixel-knn.js';

/** What a zero-shot model is trained with. */
export interface ZeroShotRecipe {
  readonly label: string;
  readonly objective: ObjectiveConfig;
  /** A P×K sampler's options (classesPerBatch × samplesPerClass = the batch), or null for shuffled batches. */
  readonly sampler: { readonly classesPerBatch: number; readonly samplesPerClass: number } | null;
  readonly embeddingDim: number;
  readonly epochs: number;
  readonly learningRate: number;
  /** Training images used (the first N of classes 0–4; the rest is left out to bound the time). */
  readonly trainImages: number;
  /**
   * Random translation of every training image by up to this many pixels (zero padding), and a random horizontal flip.
   */
  readonly shift: number;
  readonly batchSize: number;
}

/** conv 16 → pool → conv 32 → pool → dense 128 → embedding: the benchmark's CNN. */
export const ZERO_SHOT_BACKBONE = { name: 'plain-cnn', options: { stages: [[16], [32]], hidden: 128 } } as const;
export const SEED = 42;

export function buildCnn(app: Simkit, embeddingDim: number): tf.LayersModel {
  const build = app.registry<BackboneBuilder>('Backbone').create(ZERO_SHOT_BACKBONE.name, ZERO_SHOT_BACKBONE.options);
  return build({ height: 28, width: 28, channels: 1 }, embeddingDim, 1);
}

/** Batches of 28×28 images shifted by up to `shift` pixels (each image its own offset) and flipped half of the time. */
function shiftedImages(split: Split, labels: Int32Array, shift: number): TrainingData {
  const pixels = pixelVectors(split);
  return {
    labels,
    async *batches(plan, _epoch, random: Random) {
      for (const [position, indices] of plan.entries()) {
        const data = new Float32Array(indices.length * 784);
        indices.forEach((index, i) => {
          const [dy, dx] = [random.int(2 * shift + 1) - shift, random.int(2 * shift + 1) - shift];
          const flip = random.next() < 0.5;
          for (let y = 0; y < 28; y++) {
            const sy = y - dy;
            if (sy < 0 || sy >= 28) continue;
            for (let x = 0; x < 28; x++) {
              const sx = (flip ? 27 - x : x) - dx;
              if (sx >= 0 && sx < 28) data[i * 784 + y * 28 + x] = pixels[index * 784 + sy * 28 + sx]!;
            }
          }
        });
        yield {
          x: tf.tensor4d(data, [indices.length, 28, 28, 1]),
          labels: tf.tensor1d(
            Int32Array.from(indices, (index) => labels[index]!),
            'int32',
          ),
          size: indices.length,
          plan: position,
        };
      }
    },
  };
}

/** The same batches as RGB images at `size` px (grey copied to 3 channels, bilinear). */
function asRgb(data: TrainingData, size: number): TrainingData {
  return {
    labels: data.labels,
    async *batches(plan, epoch, random) {
      for await (const batch of data.batches(plan, epoch, random)) {
        const x = tf.tidy(() => tf.image.resizeBilinear(batch.x as tf.Tensor4D, [size, size]).tile([1, 1, 1, 3]));
        batch.x.dispose();
        yield { ...batch, x };
      }
    },
  };
}

/** A pretrained backbone fine-tuned on classes 0–4: what it is, at which image size, and its phases. */
export interface PretrainedZeroShotRecipe extends ZeroShotRecipe {
  readonly backbone: { readonly name: string; readonly options: { readonly layer: string } & Record<string, unknown> };
  readonly imageSize: number;
  readonly fineTuning: FineTuningOptions;
  /**
   * What retrieves after fine-tuning: the neck's embedding the loss trained, or the fine-tuned network's own map at
   * its cut layer, flattened (the neck then serves only to train the network).
   */
  readonly retrieval: 'neck' | 'map';
  /**
   * Images of the seen classes after the training images, held out: their MAP@R (by `retrieval`) after each epoch
   * stops training when it falls and keeps the best epoch's weights. 0: no early stopping.
   */
  readonly heldOutImages: number;
}

/** The fine-tuned model's retrieval output (the recipe's `retrieval`), sharing its weights. */
export function retrievalModel(model: tf.LayersModel, recipe: PretrainedZeroShotRecipe): tf.LayersModel {
  return recipe.retrieval === 'neck'
    ? model
    : tf.model({ inputs: model.inputs, outputs: model.getLayer(recipe.backbone.options.layer).output });
}

/**
 * Fine-tunes the pretrained backbone on `split` (classes 0–4) with the recipe, early stopping on the held-out images
 * of the same classes; returns the model, its retrieval output (`retrieval`, sharing its weights) and seconds.
 */
export async function trainPretrainedZeroShot(
  app: Simkit,
  split: Split,
  recipe: PretrainedZeroShotRecipe,
): Promise<{ model: tf.LayersModel; retrieval: tf.LayersModel; seconds: number }> {
  const build = app.registry<BackboneBuilder>('Backbone').create(recipe.backbone.name, recipe.backbone.options);
  const model = build({ height: recipe.imageSize, width: recipe.imageSize, channels: 3 }, recipe.embeddingDim, SEED);
  const retrieval = retrievalModel(model, recipe);
  const start = Math.min(recipe.trainImages, split.count);
  const heldOut = subset(
    split,
    [...Array(Math.min(recipe.heldOutImages, split.count - start)).keys()].map((i) => start + i),
  );
  const stopping =
    heldOut.count > 0
      ? {
          validate: async () => ({
            'seen held-out MAP@R': await unseenRgbMapAtR(retrieval, heldOut, recipe.imageSize),
          }),
          earlyStopping: { patience: 1 },
        }
      : {};
  const trained = await trainOnSeen(app, split, recipe, model, (data) => asRgb(data, recipe.imageSize), {
    fineTuning: recipe.fineTuning,
    ...stopping,
  });
  return { ...trained, retrieval };
}

/** Trains the CNN on `split` (classes 0–4) with the recipe; returns the model and the training seconds. */
export async function trainZeroShot(
  app: Simkit,
  split: Split,
  recipe: ZeroShotRecipe,
): Promise<{ model: tf.LayersModel; seconds: number }> {
  return trainOnSeen(app, split, recipe, buildCnn(app, recipe.embeddingDim), (data) => data, {});
}

async function trainOnSeen(
  app: Simkit,
  split: Split,
  recipe: ZeroShotRecipe,
  model: tf.LayersModel,
  images: (data: TrainingData) => TrainingData,
  extra: Pick<TrainerOptions, 'fineTuning' | 'validate' | 'earlyStopping'>,
): Promise<{ model: tf.LayersModel; seconds: number }> {
  const started = Date.now();
  const train = subset(split, [...Array(Math.min(recipe.trainImages, split.count)).keys()]);
  const classes = [...new Set(train.labels)].sort((a, b) => a - b);
  const index = new Map(classes.map((label, i) => [label, i]));
  const labels = Int32Array.from(train.labels, (l) => index.get(l)!);
  const objective = createObjective(app, recipe.objective, {
    embeddingDim: recipe.embeddingDim,
    numClasses: classes.length,
  });
  const sampler = recipe.sampler ? app.registry<Sampler>('Sampler').create('pk', recipe.sampler) : undefined;
  try {
    await trainEmbedding(model, objective, images(shiftedImages(train, labels, recipe.shift)), {
      epochs: recipe.epochs,
      batchSize: recipe.batchSize,
      learningRate: recipe.learningRate,
      headLearningRateFactor: 10,
      warmupEpochs: 0,
      clipNorm: 5,
      seed: SEED,
      sampler,
      progress: false,
      ...extra,
    });
  } finally {
    objective.dispose();
  }
  return { model, seconds: (Date.now() - started) / 1000 };
}

/** Embeds `count` images, 256 at a time: `embed(start, end)` returns the rows' vectors (B × dim). */
async function embedAll(count: number, embed: (start: number, end: number) => tf.Tensor): Promise<Float32Array> {
  let vectors = new Float32Array(0);
  for (let start = 0; start < count; start += 256) {
    const end = Math.min(count, start + 256);
    const batch = tf.tidy(() => l2Normalize(embed(start, end).reshape([end - start, -1]) as tf.Tensor2D));
    if (start === 0) vectors = new Float32Array(count * batch.shape[1]);
    vectors.set(await batch.data(), start * batch.shape[1]);
    batch.dispose();
  }
  return vectors;
}

/** MAP@R among `labels` of L2-normalised rows: every row queries all others by cosine similarity. */
function cosineMapAtR(vectors: Float32Array, labels: Int32Array | Uint8Array): number {
  const count = labels.length;
  const dim = vectors.length / count;
  const index = VectorIndex.create(dim);
  const ids = Array.from({ length: count }, (_, i) => String(i));
  index.add(ids, vectors);
  const classSizes = new Map<number, number>();
  for (const label of labels) classSizes.set(label, (classSizes.get(label) ?? 0) + 1);
  const k = Math.max(...classSizes.values());
  const neighbours = searchNeighbours(index, ids, vectors, { k, excludeSelf: true });
  return retrievalMetrics(
    Array.from(labels),
    neighbours.map((row) => row.indices.map((g) => labels[g]!)),
  ).mapAtR;
}

/** MAP@R among `unseen`: every image queries all others by cosine similarity of its embedding. */
export async function unseenMapAtR(model: tf.LayersModel, unseen: Split): Promise<number> {
  const pixels = pixelVectors(unseen);
  const vectors = await embedAll(
    unseen.count,
    (start, end) =>
      model.predict(tf.tensor4d(pixels.subarray(start * 784, end * 784), [end - start, 28, 28, 1])) as tf.Tensor,
  );
  return cosineMapAtR(vectors, unseen.labels);
}

/** Images start…end of `split` as RGB at `size` px (grey copied to 3 channels, bilinear), in [0, 1]. */
export function rgbImages(split: Split, start: number, end: number, size: number): tf.Tensor4D {
  const pixels = pixelVectors(split);
  return tf.tidy(() => {
    const grey = tf.tensor4d(pixels.subarray(start * 784, end * 784), [end - start, 28, 28, 1]);
    return tf.image.resizeBilinear(grey, [size, size]).tile([1, 1, 1, 3]);
  });
}

/**
 * MAP@R among the images of `split` (the unseen classes, or held-out images of the seen ones) of a network on RGB
 * images at `size` px (its output flattened when it is a map).
 */
export async function unseenRgbMapAtR(model: tf.LayersModel, unseen: Split, size: number): Promise<number> {
  const vectors = await embedAll(unseen.count, (start, end) => {
    const images = rgbImages(unseen, start, end, size);
    return model.predict(images) as tf.Tensor;
  });
  return cosineMapAtR(vectors, unseen.labels);
}

/** MAP@R among `unseen` on raw pixels (Euclidean), the query itself left out. */
export function pixelMapAtR(unseen: Split): number {
  const pixels = pixelVectors(unseen);
  const rows = euclideanNeighbours(pixels, pixels, 784, unseen.count / 5 + 1).map((row, q) =>
    row.indices.filter((g) => g !== q),
  );
  return retrievalMetrics(
    Array.from(unseen.labels),
    rows.map((row) => row.map((g) => unseen.labels[g]!)),
  ).mapAtR;
}
