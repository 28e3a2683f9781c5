import * as tf from '@tensorflow/tfjs';
import type { BackboneBuilder, InputShape } from '../contracts/backbone.js';
import type { Competition, ImageModelConfig, Item, ModelConfig, TextModelConfig } from '../contracts/competition.js';
import type { Simkit } from '../di/container.js';
import type { AugmentOptions } from '../data/augment.js';
import { loadImages } from '../data/images.js';
import { hashedTokenBatch } from '../data/token-ids.js';
import { UserError } from '../errors.js';
import { l2Normalize } from '../tensors.js';
import { itemProgress } from '../progress.js';
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
  /** The input tensor of a chunk of items (the caller disposes it). */
  tensor(items: readonly Item[]): Promise<tf.Tensor>;
}

const EMBED_CHUNK = 256;

/**
 * Images resized to imageSize × imageSize (four channels for `image4`), streamed from the decoder pool while training.
 */
export function imageInputs(
  competition: Competition,
  config: Pick<ImageModelConfig, 'imageSize'>,
  strict?: boolean,
): ModelInputs {
  const size = config.imageSize;
  const channels = competition.modality === 'image4' ? 4 : 3;
  return {
    kind: 'image',
    shape: { height: size, width: size, channels },
    trainingData: (items, labels, { cacheDir, ...options }) =>
      imageStreamData(items, labels, { size, channels, ...options, cache: { dir: cacheDir } }),
    tensor: async (items) =>
      tf.tensor4d((await loadImages(items, { size, channels, strict })).data, [items.length, size, size, channels]),
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
    tensor: async (items) => tf.tensor2d(ids(items), [items.length, config.maxTokens], 'int32'),
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
