import * as tf from '@tensorflow/tfjs';
import type { EmbeddingLoss, LossFactory } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { PARAMETER_FREE, distanceMatrix, maskedMean, minerOfKind, pairMasks, type Distance } from '../../core/losses/pairwise.js';

export interface HingeOptions {
  /** Pairs are judged against this distance. */
  readonly threshold: number;
  readonly margin: number;
  readonly distance: Distance;
}

/**
 * Hinge loss on pair distances, y = +1 for a same-label pair and −1 otherwise:
 * max(0, margin − y·(threshold − d)), averaged over every pair (i < j and j < i alike), or over
 * the pairs a pair miner keeps.
 */
export const hinge: Registration<LossFactory, HingeOptions> = {
  name: 'hinge',
  description: 'hinge on pair distances: max(0, m − y·(τ − d)), y = ±1',
  defaults: { threshold: 0.5, margin: 0.1, distance: 'cosine' },
  create: (options) => {
    const o = { threshold: 0.5, margin: 0.1, distance: 'cosine' as Distance, ...options };
    return ({ miner }): EmbeddingLoss => {
      const pairMiner = minerOfKind(miner, 'pair', 'hinge');
      return {
        input: 'embeddings',
        ...PARAMETER_FREE,
        compute: (embeddings, labels) =>
          tf.tidy(() => {
            const d = distanceMatrix(embeddings, o.distance);
            const { positive, negative } = pairMasks(d, labels, pairMiner);
            const y = positive.sub(negative);
            return maskedMean(tf.relu(tf.scalar(o.margin).sub(y.mul(tf.scalar(o.threshold).sub(d)))), positive.add(negative));
          }),
      };
    };
  },
};
