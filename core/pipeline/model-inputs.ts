import * as tf from '@tensorflow/tfjs';
import type { BackboneBuilder, InputShape } from '../contracts/backbone.js';
import type {
  Competition,
  ImageModelConfig,
  Item,
  ModelConfig,
  TextModelConfig,
  TtaConfig,
} from '../contracts/competition.js';
import { NO_TTA } from './config.js';
import type { Simkit } from '../di/container.js';
import type { AugmentOptions } from '../data/augment.js';
import { loadImages } from '../data/images.js';
import { hashedTokenBatch } from '../data/token-ids.js';
import { inferenceRunner } from '../engine/inference.js';
import { UserError } from '../errors.js';
import { l2Normalize } from '../tensors.js';
import { itemProgress } from '../progress.js';
import { phase } from './phases.js';
import { imageStreamData, inMemoryData, type TrainingData } from '../training/data.js';

/**
 * How a model's inputs are made from items: the backbone's input shape, training batches, and input tensors to embed.
 */
export interface ModelInputs {
  readonly kind: string;
  readonly shape: InputShape;
  trainingData(
    items: readonly Item[],
    labels: Int32Array,
    options: { augment: AugmentOptions; seed: number; strict?: boolean; cacheDir?: string },
  ): TrainingData;
  /**
   * The input tensors of a chunk of items whose embeddings are averaged into each item's (one, or the test-time
   * augmentation's views; the caller disposes them).
   */
  views(items: readonly Item[]): Promise<tf.Tensor[]>;
}

const EMBED_CHUNK = 256;

/** The image side of a 0-based training epoch: the progressive size whose `until` has not passed, else imageSize. */
export function imageSizeAt(config: Pick<ImageModelConfig, 'imageSize' | 'progressiveSizes'>, epoch: number): number {
  return (config.progressiveSizes ?? []).find((step) => epoch + 1 <= step.until)?.size ?? config.imageSize;
}

/** Boxes [y1, x1, y2, x2] (fractions of the side) of the test-time crops: the centre, then the four corners. */
export function cropBoxes(count: 0 | 1 | 5, scale: number): [number, number, number, number][] {
  const far = 1 - scale;
  const centre: [number, number, number, number] = [far / 2, far / 2, 1 - far / 2, 1 - far / 2];
  const corners: [number, number, number, number][] = [
    [0, 0, scale, scale],
    [0, far, scale, 1],
    [far, 0, 1, scale],
    [far, far, 1, 1],
  ];
  return count === 0 ? [] : count === 1 ? [centre] : [centre, ...corners];
}

/**
 * The test-time views of a batch of images at `size` (the batch itself first): the whole images at the other
 * `sizes`, the crops resized to `size`, and each of these mirrored with `flip`.
 */
export async function ttaViews(
  images: tf.Tensor4D,
  tta: TtaConfig,
  load: (size: number) => Promise<tf.Tensor4D>,
): Promise<tf.Tensor4D[]> {
  const [count, size] = images.shape;
  const boxes = cropBoxes(tta.crops, tta.cropScale);
  const crops = tf.tidy(() =>
    boxes.map((box) =>
      tf.image.cropAndResize(images, tf.tensor2d(Array(count).fill(box), [count, 4]), tf.range(0, count, 1, 'int32'), [
        size,
        size,
      ]),
    ),
  );
  const views = [images, ...crops];
  for (const other of tta.sizes) views.push(await load(other));
  if (tta.flip) views.push(...tf.tidy(() => views.map((view) => tf.reverse(view, 2) as tf.Tensor4D)));
  return views;
}

/**
 * Images resized to imageSize × imageSize (four channels for `image4`), streamed from the decoder pool while training
 * (at each epoch's progressive size), embedded with the test-time views the model asks for.
 */
export function imageInputs(
  competition: Pick<Competition, 'modality'>,
  config: Pick<ImageModelConfig, 'imageSize' | 'progressiveSizes' | 'tta'>,
  strict?: boolean,
): ModelInputs {
  const size = config.imageSize;
  const tta = { ...NO_TTA, ...config.tta };
  const channels = competition.modality === 'image4' ? 4 : 3;
  const anySize = (config.progressiveSizes ?? []).length > 0 || tta.sizes.length > 0;
  const largest = Math.max(size, ...(config.progressiveSizes ?? []).map((step) => step.size));
  const load = (items: readonly Item[]) => async (side: number) =>
    tf.tensor4d((await loadImages(items, { size: side, channels, strict })).data, [items.length, side, side, channels]);
  return {
    kind: 'image',
    shape: { height: largest, width: largest, channels, ...(anySize ? { anySize } : {}) },
    trainingData: (items, labels, { cacheDir, ...options }) =>
      imageStreamData(items, labels, {
        size: (epoch) => imageSizeAt(config, epoch),
        channels,
        ...options,
        cache: { dir: cacheDir },
      }),
    views: async (items) => ttaViews(await load(items)(size), tta, load(items)),
  };
}

/** Item texts as hashed n-gram ids for a token backbone; `buckets` is the backbone's hash range. */
export function textInputs(config: Pick<TextModelConfig, 'maxTokens' | 'ngrams'>, buckets: number): ModelInputs {
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
    views: (items) => Promise.resolve([tf.tensor2d(ids(items), [items.length, config.maxTokens], 'int32')]),
  };
}

/** A text model's inputs, with the hash range read from its backbone's effective `buckets` option. */
function tokenInputs(app: Simkit, name: string, config: TextModelConfig): ModelInputs {
  const registered = app.registry<BackboneBuilder>('Backbone').get(config.backbone.name);
  const buckets = { ...(registered.defaults as Record<string, unknown>), ...config.backbone.options }.buckets;
  if (typeof buckets !== 'number') {
    throw new UserError(
      `models.${name}.backbone "${config.backbone.name}" has no \`buckets\` option: a text model needs a token backbone`,
      'use the text-encoder backbone',
    );
  }
  return textInputs(config, buckets);
}

/** The inputs of the model called `name`: images for `input: image`, hashed texts for `input: text`. */
export function modelInputs(
  app: Simkit,
  competition: Competition,
  name: string,
  config: ModelConfig,
  strict?: boolean,
): ModelInputs {
  return config.input === 'image' ? imageInputs(competition, config, strict) : tokenInputs(app, name, config);
}

/**
 * Runs `model` over `items` in chunks (inputs made per chunk, so memory stays bounded) and hands
 * each chunk's vectors to `sink` with the chunk's first position: the mean of the raw embeddings of the
 * inputs' views (test-time augmentation), L2-normalised.
 */
export async function embedInChunks(
  model: tf.LayersModel,
  items: readonly Item[],
  inputs: ModelInputs,
  sink: (start: number, vectors: Float32Array) => void | Promise<void>,
): Promise<void> {
  const progress = itemProgress(`embedding ${inputs.kind}s`, items.length);
  const runner = inferenceRunner(model);
  const embedAll = async () => {
    for (let start = 0; start < items.length; start += EMBED_CHUNK) {
      const chunk = items.slice(start, start + EMBED_CHUNK);
      const views = await inputs.views(chunk);
      const vectors = tf.tidy(() => {
        const raw = views.map((view) => runner.predict(view) as tf.Tensor2D);
        return l2Normalize(raw.length === 1 ? raw[0]! : tf.addN(raw).div(views.length));
      });
      tf.dispose(views);
      const values = (await vectors.data()) as Float32Array;
      vectors.dispose();
      await sink(start, values);
      progress.advance(chunk.length);
    }
  };
  try {
    await phase(`embed ${inputs.kind}s`, embedAll, items.length);
  } finally {
    runner.dispose();
    progress.stop();
  }
}
