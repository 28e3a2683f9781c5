import * as tf from '@tensorflow/tfjs';
import { defineLoss, embeddingLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { minerOfKind, pairMasks } from '../../core/losses/pairwise.js';
import { reduce } from '../../core/losses/reducers.js';

export interface HingeOptions extends LossPartOptions {
  /** Pairs are judged against this distance. */
  readonly threshold: number;
  /** Each pair's loss is max(0, margin − y·(threshold − d)), y = 1 for a positive pair and −1 for a negative one. */
  readonly margin: number;
}

export const HINGE_DEFAULTS: HingeOptions = {
  threshold: 0.5,
  margin: 0.1,
  distance: 'cosine',
  reducer: 'mean',
  regularizer: null,
};

/**
 * Hinge loss on pair distances, y = +1 for a same-label pair and −1 otherwise:
 * max(0, margin − y·(threshold − d)), reduced over every pair (i < j and j < i alike; by default
 * the mean), or over the pairs a pair miner keeps.
 */
export const hinge = defineLoss<HingeOptions>({
  name: 'hinge',
  description: 'hinge on pair distances: max(0, m − y·(τ − d)), y = ±1',
  defaults: HINGE_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('hinge', o, components);
    return ({ miner }) => {
      const pairMiner = minerOfKind(miner, 'pair', 'hinge');
      return embeddingLoss(parts, (embeddings, labels) =>
        tf.tidy(() => {
          const d = parts.distance.distances(embeddings);
          const { positive, negative } = pairMasks(d, labels, pairMiner);
          const y = positive.sub(negative);
          return reduce(
            parts.reducer,
            tf.relu(tf.scalar(o.margin).sub(y.mul(tf.scalar(o.threshold).sub(d)))),
            positive.add(negative),
          );
        }),
      );
    };
  },
});
