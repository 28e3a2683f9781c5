import * as tf from '@tensorflow/tfjs';
import { defineLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { pairLoss } from '../../core/losses/pair-loss.js';
import { reduce } from '../../core/losses/reducers.js';

export interface ContrastiveOptions extends LossPartOptions {
  /** Positive pairs farther apart than this are penalised by the excess. */
  readonly positiveMargin: number;
  /** Negative pairs closer than this are penalised by the shortfall. */
  readonly negativeMargin: number;
}

export const CONTRASTIVE_DEFAULTS: ContrastiveOptions = {
  positiveMargin: 0,
  negativeMargin: 1,
  distance: 'l2',
  reducer: 'mean-non-zero',
  regularizer: null,
};

/**
 * Contrastive loss. Label convention: two items with the SAME label form a positive pair and are
 * pulled together (loss relu(d − m_pos)); items with DIFFERENT labels are pushed apart until
 * their distance reaches m_neg (loss relu(m_neg − d)). Each part is reduced on its own (by
 * default averaged over its pairs with non-zero loss); the result is their sum. With a
 * similarity (cosine, dot) d is 1 − s. A pair miner (pair-margin) narrows both sets of pairs.
 */
export const contrastive = defineLoss<ContrastiveOptions>({
  name: 'contrastive',
  description: 'contrastive: same label pulled within m_pos, different labels pushed beyond m_neg',
  defaults: CONTRASTIVE_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('contrastive', o, components);
    return ({ miner }) =>
      pairLoss('contrastive', parts, miner, ({ distances, positive, negative }) => {
        const d = distances();
        return reduce(parts.reducer, tf.relu(d.sub(o.positiveMargin)), positive).add(
          reduce(parts.reducer, tf.relu(tf.scalar(o.negativeMargin).sub(d)), negative),
        ) as tf.Scalar;
      });
  },
});
