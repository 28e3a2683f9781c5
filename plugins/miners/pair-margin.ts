import * as tf from '@tensorflow/tfjs';
import type { PairMiner } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';

export interface PairMarginOptions {
  /** Positive pairs farther apart than this are kept (the hard positives). */
  readonly positiveMargin: number;
  /** Negative pairs closer than this are kept (the hard negatives). */
  readonly negativeMargin: number;
}

export const PAIR_MARGIN_DEFAULTS: PairMarginOptions = { positiveMargin: 0.2, negativeMargin: 0.8 };

/** Keeps positive pairs with d > m_pos and negative pairs with d < m_neg, in the loss's distance units. */
export const pairMargin: Registration<PairMiner, PairMarginOptions> = {
  name: 'pair-margin',
  description: 'pairs by margin: positives with d > m_pos, negatives with d < m_neg (for contrastive and hinge)',
  defaults: PAIR_MARGIN_DEFAULTS,
  create: ({ positiveMargin, negativeMargin }: PairMarginOptions) => {
    return {
      kind: 'pair',
      select: (distances, positive, negative) =>
        tf.tidy(() => ({
          positive: positive.mul(tf.step(distances.sub(positiveMargin))) as tf.Tensor2D,
          negative: negative.mul(tf.step(tf.scalar(negativeMargin).sub(distances))) as tf.Tensor2D,
        })),
    };
  },
};
