import * as tf from '@tensorflow/tfjs';
import type { BackboneBuilder, InputShape } from '../../core/contracts/backbone.js';
import type { Registration } from '../../core/contracts/registration.js';
import { DROPOUT } from '../../core/di/option-ranges.js';
import { UserError } from '../../core/errors.js';
import { EmbeddingBag, embeddingNeck } from '../../core/models/layers.js';

export interface TextEncoderOptions {
  /** Hash buckets: token ids run 1..buckets (0 is padding); the table has buckets + 1 rows of tokenDim. */
  readonly buckets: number;
  /** Width of each token embedding. */
  readonly tokenDim: number;
  /** Widths of dense → batch-norm → ReLU layers between the bag and the embedding layer. */
  readonly hidden: readonly number[];
  /** A PReLU after the embedding's batch norm. */
  readonly prelu: boolean;
  /** Dropout rate before the embedding layer (0: none). */
  readonly dropout: number;
}

export const TEXT_ENCODER_DEFAULTS: TextEncoderOptions = {
  buckets: 65_536,
  tokenDim: 128,
  hidden: [],
  prelu: false,
  dropout: 0,
};

/**
 * A bag of hashed n-grams: int32 ids (B × maxTokens, from core/data/text.ts hashedTokenIds with the
 * same buckets) → the mean of the non-padding ids' embeddings → the dense + batch-norm neck →
 * embeddingDim. Input convention: InputShape { height: 1, width: maxTokens, channels: 1 }; the
 * model's input is the rank-2 int32 tensor B × maxTokens (B × 1 × maxTokens × 1 is reshaped too).
 */
export function textEncoder(options: TextEncoderOptions): BackboneBuilder {
  return (input: InputShape, embeddingDim: number, seed: number) => {
    if (input.height !== 1 || input.channels !== 1) {
      throw new UserError(
        `the text-encoder backbone takes token ids as { height: 1, width: maxTokens, channels: 1 }, got ${input.height}×${input.width}×${input.channels}`,
        'feed it hashedTokenIds rows (core/data/text.ts) and describe them with height 1, width maxTokens and channels 1',
      );
    }
    if (!Number.isInteger(options.buckets) || options.buckets < 1)
      throw new UserError(`text-encoder: buckets must be a positive integer, got ${options.buckets}`);
    const inputs = tf.input({ shape: [input.width], dtype: 'int32' });
    const bag = new EmbeddingBag({ inputDim: options.buckets + 1, outputDim: options.tokenDim, seed }).apply(
      inputs,
    ) as tf.SymbolicTensor;
    const embedding = embeddingNeck(bag, {
      embeddingDim,
      hidden: options.hidden,
      prelu: options.prelu,
      dropout: options.dropout,
      seed: seed + 1,
    });
    return tf.model({ inputs, outputs: embedding });
  };
}

export const textEncoderBackbone: Registration<BackboneBuilder, TextEncoderOptions> = {
  name: 'text-encoder',
  description:
    'bag of hashed word/char n-grams (int32 ids 1..buckets, 0 = padding): mean embedding → dense + batch-norm embedding',
  defaults: TEXT_ENCODER_DEFAULTS,
  ranges: {
    buckets: { integer: true, min: 1 },
    tokenDim: { integer: true, min: 1 },
    hidden: { integer: true, min: 1, each: true },
    dropout: DROPOUT,
  },
  create: textEncoder,
};
