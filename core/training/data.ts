import * as tf from '@tensorflow/tfjs';
import type { AugmentOptions } from '../data/augment.js';
import { DecoderPool, imageBatches, sampleSeed, type ImageSource } from '../data/images.js';
import { UserError } from '../errors.js';
import type { Random } from '../random.js';

/** One training batch; the trainer disposes the tensors. */
export interface TrainingBatch {
  readonly x: tf.Tensor;
  readonly labels: tf.Tensor1D;
  readonly size: number;
  /** Which batch of the epoch's plan this is; `size` is smaller than planned when samples could not be read. */
  readonly plan: number;
}

/**
 * Where the trainer's batches come from. The trainer plans each epoch (positions of samples per
 * batch, from its seeded Random) and the source turns a plan into tensors, so that an epoch is the
 * same whether it runs straight through or after a resume.
 */
export interface TrainingData {
  /** Class of each sample. */
  readonly labels: Int32Array;
  batches(plan: readonly (readonly number[])[], epoch: number, random: Random): AsyncIterable<TrainingBatch>;
  /** Samples left out of the last epoch because they could not be read. */
  readonly skipped?: number;
  close?(): Promise<void>;
}

/**
 * Inputs held in memory: one row of `shape` per label (HWC floats for images, `[maxTokens]` int32
 * token ids for text), rows one after another.
 */
export interface InMemoryDataset {
  readonly data: Float32Array | Int32Array;
  readonly shape: readonly number[];
  readonly labels: Int32Array;
}

function flipHalf(x: tf.Tensor4D, random: Random): tf.Tensor4D {
  return tf.tidy(() => {
    const mask = tf
      .tensor1d(
        Array.from({ length: x.shape[0] }, () => (random.next() < 0.5 ? 1 : 0)),
        'bool',
      )
      .reshape([-1, 1, 1, 1]);
    return tf.where(mask.broadcastTo(x.shape), x.reverse(2), x) as tf.Tensor4D;
  });
}

/**
 * Batches gathered from arrays in memory (features, token ids, small image sets); `flip` mirrors half of each image
 * batch.
 */
export function inMemoryData(dataset: InMemoryDataset, options: { flip?: boolean } = {}): TrainingData {
  const row = dataset.shape.reduce((a, b) => a * b, 1);
  if (dataset.data.length !== dataset.labels.length * row) {
    throw new UserError(
      `dataset holds ${dataset.data.length} values, expected ${dataset.labels.length} rows of ${dataset.shape.join('×')}`,
    );
  }
  if (options.flip && dataset.shape.length !== 3)
    throw new UserError(`flip mirrors images (height × width × channels rows), not rows of ${dataset.shape.join('×')}`);
  const dtype = dataset.data instanceof Int32Array ? 'int32' : 'float32';
  return {
    labels: dataset.labels,
    async *batches(plan, _epoch, random) {
      for (const [position, indices] of plan.entries()) {
        const data =
          dataset.data instanceof Int32Array
            ? new Int32Array(indices.length * row)
            : new Float32Array(indices.length * row);
        indices.forEach((index, i) => data.set(dataset.data.subarray(index * row, (index + 1) * row), i * row));
        let x = tf.tensor(data, [indices.length, ...dataset.shape], dtype);
        if (options.flip) {
          const flipped = flipHalf(x as tf.Tensor4D, random);
          x.dispose();
          x = flipped;
        }
        yield {
          x,
          labels: tf.tensor1d(
            Int32Array.from(indices, (index) => dataset.labels[index]!),
            'int32',
          ),
          size: indices.length,
          plan: position,
        };
      }
    },
  };
}

export interface ImageStreamOptions {
  /** The image side, or the side of each 0-based epoch (progressive sizes). */
  readonly size: number | ((epoch: number) => number);
  readonly channels: number;
  readonly augment?: AugmentOptions;
  /** Seeds the augmentations together with the epoch, so that each epoch draws new ones. */
  readonly seed: number;
  /** Unreadable images fail the run instead of being skipped and counted. */
  readonly strict?: boolean;
  readonly workers?: number;
  readonly prefetch?: number;
}

/**
 * Images decoded and augmented by a pool of worker threads while the previous batches train; only
 * the batches being prefetched are in memory, never the whole set.
 */
export function imageStreamData(
  items: readonly ImageSource[],
  labels: Int32Array,
  options: ImageStreamOptions,
): TrainingData {
  if (items.length !== labels.length) throw new UserError(`${items.length} images for ${labels.length} labels`);
  let pool: DecoderPool | undefined;
  let skipped = 0;
  return {
    labels,
    get skipped() {
      return skipped;
    },
    async *batches(plan, epoch) {
      if (plan.length === 0) return;
      const batchSize = plan[0]!.length;
      if (plan.some((batch, i) => batch.length !== batchSize && i !== plan.length - 1)) {
        throw new UserError('image streams need batches of one size (the last may be smaller)');
      }
      pool ??= new DecoderPool(options.workers);
      const ordered = plan.flat().map((index) => ({ ...items[index]!, label: labels[index]! }));
      const stream = imageBatches(ordered, {
        batchSize,
        size: typeof options.size === 'number' ? options.size : options.size(epoch),
        channels: options.channels,
        augment: options.augment,
        seed: sampleSeed(options.seed, epoch),
        strict: options.strict,
        prefetch: options.prefetch,
        pool,
      });
      for await (const batch of stream) {
        const position = Math.floor(batch.indices[0]! / batchSize);
        yield {
          x: tf.tensor4d(batch.data, batch.shape),
          labels: tf.tensor1d(batch.labels, 'int32'),
          size: batch.labels.length,
          plan: position,
        };
      }
      skipped = stream.summary.skipped;
    },
    async close() {
      await pool?.close();
      pool = undefined;
    },
  };
}
