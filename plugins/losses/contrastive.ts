import * as tf from '@tensorflow/tfjs';
import type { EmbeddingLoss, LossFactory } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { PARAMETER_FREE, distanceMatrix, meanOfPositive, minerOfKind, pairMasks, type Distance } from '../../core/losses/pairwise.js';

export interface ContrastiveOptions {
  readonly positiveMargin: number;
  readonly negativeMargin: number;
  readonly distance: Distance;
}

/**
 * Contrastive loss. Label convention: two items with the SAME label form a positive pair and are
 * pulled together (loss relu(d − m_pos)); items with DIFFERENT labels are pushed apart until
 * their distance reaches m_neg (loss relu(m_neg − d)). Each part is averaged over its pairs with
 * non-zero loss; the result is their sum. A pair miner (pair-margin) narrows both sets of pairs.
 */
export const contrastive: Registration<LossFactory, ContrastiveOptions> = {
  name: 'contrastive',
  description: 'contrastive: same label pulled within m_pos, different labels pushed beyond m_neg',
  defaults: { positiveMargin: 0, negativeMargin: 1, distance: 'l2' },
  create: (options) => {
    const o = { positiveMargin: 0, negativeMargin: 1, distance: 'l2' as Distance, ...options };
    return ({ miner }): EmbeddingLoss => {
      const pairMiner = minerOfKind(miner, 'pair', 'contrastive');
      return {
        input: 'embeddings',
        ...PARAMETER_FREE,
        compute: (embeddings, labels) =>
          tf.tidy(() => {
            const d = distanceMatrix(embeddings, o.distance);
            const { positive, negative } = pairMasks(d, labels, pairMiner);
            return meanOfPositive(tf.relu(d.sub(o.positiveMargin)), positive).add(meanOfPositive(tf.relu(tf.scalar(o.negativeMargin).sub(d)), negative)) as tf.Scalar;
          }),
      };
    };
  },
};
