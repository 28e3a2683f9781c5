import * as tf from '@tensorflow/tfjs';
import type { AugmentOptions } from '../data/augment.js';
import { ImageCache, type ImageCacheOptions } from '../data/image-cache.js';
import { filesOf } from '../data/image-decode.js';
import {
  DecoderPool,
  fillImageCache,
  imageBatches,
  sampleSeed,
  type BatchSource,
  type ImageSource,
} from '../data/images.js';
import { UserError } from '../errors.js';
import { log } from '../log.js';
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
  /** Images decoded from their files in the last epoch (the others came from a cache of decoded images). */
  readonly decoded?: number;
  /** Work done once before the first epoch (decoding images into a cache), outside the epochs' time. */
  prepare?(): Promise<void>;
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
  /** Where decoded images are cached (core/data/image-cache.ts); `false` decodes every image every epoch. */
  readonly cache?: ImageCacheOptions | false;
  /**
   * The items the cache holds, when more than the stream's (every fold's training items, so that the folds of a
   * cross-validation share one cache); a stream item is read from the slot of the cache item with its id and files.
   */
  readonly cacheItems?: readonly ImageSource[];
}

/** Fills the cache of the training images (and the other folds', when it holds them) before the first epoch. */
async function decodeOnce(
  items: readonly ImageSource[],
  cache: ImageCache,
  options: ImageStreamOptions,
  pool: DecoderPool,
): Promise<void> {
  const { size } = options;
  if (typeof size !== 'number') return;
  const started = Date.now();
  const cached = options.cacheItems ?? items;
  await fillImageCache(cached, cache, { size, channels: options.channels }, pool);
  // The threads are started here rather than in the first epoch, whose time they would count in.
  await pool.ready();
  const unreadable = cache.bad.size ? `, ${cache.bad.size} unreadable` : '';
  log.info(
    `${cached.length} training images decoded once at ${size}×${size} ` +
      `(${cache.reused} by an earlier run${unreadable}, ${((Date.now() - started) / 1000).toFixed(1)} s), ` +
      `kept in ${cache.where === 'memory' ? 'memory' : 'a file'} for every epoch`,
  );
}

/**
 * The cache at the training size, of the items it holds; none when asked, or when the size changes over the epochs
 * (progressive sizes).
 */
function openImageCache(items: readonly ImageSource[], options: ImageStreamOptions): Promise<ImageCache | undefined> {
  const { size } = options;
  if (options.cache === false || typeof size !== 'number') return Promise.resolve(undefined);
  return ImageCache.open(options.cacheItems ?? items, { size, channels: options.channels }, options.cache);
}

/** The batch size of an image stream's plan, which every batch but the last must have. */
function streamBatchSize(plan: readonly (readonly number[])[]): number {
  const batchSize = plan[0]!.length;
  if (plan.some((batch, i) => batch.length !== batchSize && i !== plan.length - 1))
    throw new UserError('image streams need batches of one size (the last may be smaller)');
  return batchSize;
}

/**
 * Each item's slot in a cache of `cached` (the cache item with its id and files), or -1 when it holds none; none
 * when the cache holds the stream's own items (the slot is the item's position).
 */
function cacheSlots(cached: readonly ImageSource[] | undefined, items: readonly ImageSource[]): Int32Array | undefined {
  if (cached === undefined || cached === items) return undefined;
  const slotOf = new Map(cached.map((item, slot) => [item.id, slot]));
  const files = (item: ImageSource) => filesOf(item).join('\n');
  return Int32Array.from(items, (item) => {
    const slot = slotOf.get(item.id);
    return slot !== undefined && files(cached[slot]!) === files(item) ? slot : -1;
  });
}

/**
 * The plan's items in order, with what decoding needs only (it travels to the worker threads with each item);
 * `slots` maps an item to its cache slot when the cache holds other items than the stream's.
 */
function planItems(
  items: readonly ImageSource[],
  labels: Int32Array,
  plan: readonly (readonly number[])[],
  slots: Int32Array | undefined,
): BatchSource[] {
  return plan.flat().map((index) => {
    const { id, imagePath, channelPaths } = items[index]!;
    const cacheSlot = slots ? slots[index]! : index;
    return { id, imagePath, channelPaths, label: labels[index]!, ...(cacheSlot >= 0 ? { cacheSlot } : {}) };
  });
}

/**
 * Images augmented by a pool of worker threads while the previous batches train. Each image is decoded once (by
 * `prepare`, or the first time an epoch uses it) into a cache at the training size, in memory when it fits under
 * a bound and in a file otherwise, and every epoch augments the cached pixels; only the batches being prefetched
 * are held as floats.
 */
export function imageStreamData(
  items: readonly ImageSource[],
  labels: Int32Array,
  options: ImageStreamOptions,
): TrainingData {
  if (items.length !== labels.length) throw new UserError(`${items.length} images for ${labels.length} labels`);
  let pool: DecoderPool | undefined;
  let cache: Promise<ImageCache | undefined> | undefined;
  let skipped = 0;
  let decoded = 0;
  const openCache = () => (cache ??= openImageCache(items, options));
  return {
    labels,
    get skipped() {
      return skipped;
    },
    get decoded() {
      return decoded;
    },
    async prepare() {
      const opened = await openCache();
      if (opened) await decodeOnce(items, opened, options, (pool ??= new DecoderPool(options.workers)));
    },
    async *batches(plan, epoch) {
      if (plan.length === 0) return;
      const batchSize = streamBatchSize(plan);
      const opened = await openCache();
      pool ??= new DecoderPool(options.workers);
      const ordered = planItems(items, labels, plan, cacheSlots(options.cacheItems, items));
      const stream = imageBatches(ordered, {
        batchSize,
        size: typeof options.size === 'number' ? options.size : options.size(epoch),
        channels: options.channels,
        augment: options.augment,
        seed: sampleSeed(options.seed, epoch),
        strict: options.strict,
        prefetch: options.prefetch,
        pool,
        cache: opened,
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
      decoded = stream.summary.decoded;
    },
    async close() {
      await pool?.close();
      pool = undefined;
      await (await cache)?.close();
      cache = undefined;
    },
  };
}
