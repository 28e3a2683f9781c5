import * as tf from '@tensorflow/tfjs';
import type { LossFactory } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { embeddingLoss, lossParts, type LossPartOptions } from '../../core/losses/embedding-loss.js';
import { noMiner } from '../../core/losses/pairwise.js';
import { reduce } from '../../core/losses/reducers.js';
import { classMatrix, crossEntropyPerRow } from './class-weights.js';

export interface NormalizedSoftmaxOptions extends LossPartOptions {
  /** Temperature τ dividing the similarities before the softmax. */
  readonly temperature: number;
}

export const NORMALIZED_SOFTMAX_DEFAULTS: NormalizedSoftmaxOptions = {
  temperature: 0.05,
  distance: 'cosine',
  reducer: 'mean',
  regularizer: null,
};

/**
 * Normalized softmax (Zhai & Wu 2019): cross-entropy of s(x, w_c)/τ with a trainable class matrix
 * (checkpoint name `weight`, C × D) and s the cosine (the distance's similarity; −d for a
 * distance); reduced (by default averaged).
 */
export const normalizedSoftmax: Registration<LossFactory, NormalizedSoftmaxOptions> = {
  name: 'normalized-softmax',
  description: 'normalized softmax (Zhai 2019): softmax over cosines to a class matrix divided by τ',
  defaults: NORMALIZED_SOFTMAX_DEFAULTS,
  ranges: { temperature: { above: 0 } },
  create: (options) => {
    const o = { ...NORMALIZED_SOFTMAX_DEFAULTS, ...options };
    const parts = lossParts('normalized-softmax', o, NORMALIZED_SOFTMAX_DEFAULTS);
    return ({ numClasses, embeddingDim, miner }) => {
      noMiner(miner, 'normalized-softmax');
      const { matrix: weight, trainable } = classMatrix('normalized-softmax', 'weight', [numClasses, embeddingDim], 33);
      return embeddingLoss(
        parts,
        (embeddings, labels) =>
          tf.tidy(() => {
            const perRow = crossEntropyPerRow(
              parts.distance.similarities(embeddings, weight).div(o.temperature) as tf.Tensor2D,
              labels,
            );
            return reduce(parts.reducer, perRow, tf.onesLike(perRow));
          }),
        trainable,
      );
    };
  },
};
