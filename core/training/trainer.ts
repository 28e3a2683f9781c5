import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BatchSampler, Objective } from '../contracts/loss.js';
import { l2Normalize } from '../losses/class-matrix.js';
import { log } from '../log.js';
import { Random } from '../random.js';
import { warmupCosine } from './schedule.js';

/** Inputs held in memory: `count` rows of `shape` (HWC) floats, and an integer class per row. */
export interface InMemoryDataset {
  readonly data: Float32Array;
  readonly shape: readonly [number, number, number];
  readonly labels: Int32Array;
}

export interface TrainerOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Learning rate of the objective's own variables (class matrices) relative to the model's. */
  readonly headLearningRateFactor: number;
  readonly warmupEpochs: number;
  /** Gradients are scaled down when their global norm exceeds this (0: no clipping). */
  readonly clipNorm: number;
  readonly seed: number;
  /** Mirror images left-right at random (half of each batch on average). */
  readonly flip: boolean;
  /** Batches of one epoch (e.g. P×K); shuffled fixed-size batches without one. */
  readonly sampler?: BatchSampler;
  /** Where `log.jsonl` goes; nothing is written without it. */
  readonly runDir?: string;
  /** Validation metrics after each epoch (higher is better for the first one). */
  readonly validate?: () => Promise<Record<string, number>>;
}

export interface EpochRecord {
  readonly epoch: number;
  readonly loss: number;
  readonly learningRate: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
  readonly validation?: Record<string, number>;
}

function shuffledBatches(count: number, batchSize: number, random: Random): number[][] {
  const order = random.shuffle([...Array(count).keys()]);
  const batches: number[][] = [];
  for (let start = 0; start + batchSize <= count || (start < count && batches.length === 0); start += batchSize) {
    batches.push(order.slice(start, start + batchSize));
  }
  return batches;
}

function gather(dataset: InMemoryDataset, indices: readonly number[]): { x: tf.Tensor4D; labels: tf.Tensor1D } {
  const [h, w, c] = dataset.shape;
  const row = h * w * c;
  const data = new Float32Array(indices.length * row);
  indices.forEach((index, i) => data.set(dataset.data.subarray(index * row, (index + 1) * row), i * row));
  return {
    x: tf.tensor4d(data, [indices.length, h, w, c]),
    labels: tf.tensor1d(Int32Array.from(indices, (index) => dataset.labels[index]!), 'int32'),
  };
}

function flipHalf(x: tf.Tensor4D, random: Random): tf.Tensor4D {
  return tf.tidy(() => {
    const mask = tf.tensor1d(Array.from({ length: x.shape[0] }, () => (random.next() < 0.5 ? 1 : 0)), 'bool').reshape([-1, 1, 1, 1]);
    return tf.where(mask.broadcastTo(x.shape), x.reverse(2), x) as tf.Tensor4D;
  });
}

/**
 * Trains `model` (inputs → raw embeddings) with `objective` on L2-normalised embeddings: Adam with
 * linear warm-up and cosine decay, a separate learning rate for the objective's variables, and
 * global-norm clipping. Logs one line per epoch (and to `<runDir>/log.jsonl`).
 */
export async function trainEmbedding(model: tf.LayersModel, objective: Objective, dataset: InMemoryDataset, options: TrainerOptions): Promise<EpochRecord[]> {
  const random = new Random(options.seed);
  const count = dataset.labels.length;
  const stepsPerEpoch = options.sampler ? options.sampler.epoch(Array.from(dataset.labels), new Random(options.seed)).length : Math.max(1, Math.floor(count / options.batchSize));
  const totalSteps = stepsPerEpoch * options.epochs;
  const modelOptimizer = tf.train.adam(options.learningRate);
  const headOptimizer = tf.train.adam(options.learningRate * options.headLearningRateFactor);
  const modelVariables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const headVariables = objective.variables();
  const logFile = options.runDir ? join(options.runDir, 'log.jsonl') : undefined;
  if (options.runDir) await mkdir(options.runDir, { recursive: true });
  if (logFile) await writeFile(logFile, '');
  const history: EpochRecord[] = [];
  let step = 0;
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const started = Date.now();
      const batches = options.sampler ? options.sampler.epoch(Array.from(dataset.labels), random).map((b) => b.indices) : shuffledBatches(count, options.batchSize, random);
      let lossSum = 0;
      let samples = 0;
      let learningRate = 0;
      for (const indices of batches) {
        learningRate = warmupCosine(step, totalSteps, options.warmupEpochs * stepsPerEpoch, options.learningRate, 0.05);
        (modelOptimizer as unknown as { learningRate: number }).learningRate = learningRate;
        (headOptimizer as unknown as { learningRate: number }).learningRate = learningRate * options.headLearningRateFactor;
        objective.onStep({ epoch, step, epochs: options.epochs, stepsPerEpoch });
        const { x, labels } = gather(dataset, indices);
        const input = options.flip ? flipHalf(x, random) : x;
        const { value, grads } = tf.variableGrads(() => {
          const embeddings = l2Normalize(model.apply(input, { training: true }) as tf.Tensor2D);
          return objective.loss({ kind: 'labels', embeddings, labels });
        }, [...modelVariables, ...headVariables]);
        const clipped = clipByGlobalNorm(grads, options.clipNorm);
        modelOptimizer.applyGradients(modelVariables.map((v) => ({ name: v.name, tensor: clipped[v.name]! })));
        if (headVariables.length > 0) headOptimizer.applyGradients(headVariables.map((v) => ({ name: v.name, tensor: clipped[v.name]! })));
        lossSum += (await value.data())[0]! * indices.length;
        samples += indices.length;
        tf.dispose([value, grads, clipped, x, labels, input]);
        step += 1;
      }
      const seconds = (Date.now() - started) / 1000;
      const validation = options.validate ? await options.validate() : undefined;
      const record: EpochRecord = { epoch: epoch + 1, loss: lossSum / Math.max(1, samples), learningRate, seconds, samplesPerSecond: samples / seconds, validation };
      history.push(record);
      const metrics = validation ? Object.entries(validation).map(([k, v]) => ` ${k} ${v.toFixed(4)}`).join('') : '';
      log.info(`epoch ${record.epoch}/${options.epochs}  loss ${record.loss.toFixed(4)}  lr ${learningRate.toExponential(2)}  ${record.samplesPerSecond.toFixed(0)} samples/s${metrics}`);
      if (logFile) await appendFile(logFile, `${JSON.stringify({ type: 'epoch', ...record })}\n`);
    }
  } finally {
    modelOptimizer.dispose();
    headOptimizer.dispose();
  }
  return history;
}

/** Scales every gradient by min(1, maxNorm / ‖g‖) where ‖g‖ is the norm of all gradients together. */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): tf.NamedTensorMap {
  return tf.tidy(() => {
    if (maxNorm <= 0) return Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, g.clone()]));
    const norm = tf.addN(Object.values(grads).map((g) => g.square().sum())).sqrt();
    const factor = tf.minimum(1, tf.scalar(maxNorm).div(norm.add(1e-12)));
    return Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, g.mul(factor)]));
  });
}
