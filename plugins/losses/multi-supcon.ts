import * as tf from '@tensorflow/tfjs';
import type { PairMiner } from '../../core/contracts/loss.js';
import {
  defineLoss,
  embeddingLoss,
  type LossPartOptions,
  lossParts,
  type LossParts,
} from '../../core/losses/embedding-loss.js';
import { maskedLogSumExp } from '../../core/losses/log-sum-exp.js';
import { detached, minerOfKind } from '../../core/losses/pairwise.js';
import { reduce } from '../../core/losses/reducers.js';

export interface MultiSupConOptions extends LossPartOptions {
  /** Temperature τ dividing the similarities before the softmax. */
  readonly temperature: number;
  /** Two rows are a positive pair when the Jaccard similarity of their label sets exceeds this. */
  readonly threshold: number;
}

export const MULTI_SUPCON_DEFAULTS: MultiSupConOptions = {
  temperature: 0.1,
  threshold: 0.3,
  distance: 'cosine',
  reducer: 'mean-non-zero',
  regularizer: null,
};

/** Jaccard similarity |A ∩ B| / |A ∪ B| of the label sets (B×C rows of 0/1); 0 between two empty sets. */
export function jaccard(labelSets: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const sets = labelSets.toFloat();
    const intersection = tf.matMul(sets, sets, false, true);
    const sizes = sets.sum(1);
    const union = sizes
      .reshape([-1, 1])
      .add(sizes.reshape([1, -1]))
      .sub(intersection);
    return intersection.div(union.maximum(1e-12)) as tf.Tensor2D;
  });
}

/**
 * Multi-label supervised contrastive loss (pytorch-metric-learning 3's MultiSupConLoss) on B×D embeddings, given J, the
 * B×B Jaccard similarity of the rows' label sets (`jaccard`). With P(i) = {j ≠ i : J_ij > threshold} and N(i)
 * the other rows j ≠ i, per anchor i:
 *   −(1/|P(i)|) Σ_{p ∈ P(i)} J_ip · log( e^(s_ip/τ) / Σ_{a ∈ P(i) ∪ N(i)} e^(s_ia/τ) )
 * (0 without positives); every row is a term of the reduction (by default the mean over the non-zero ones), and the
 * loss is 0 when the batch has no positive or no negative pair. A pair miner narrows P and N.
 */
export function multiSupConLoss(
  parts: LossParts,
  options: Pick<MultiSupConOptions, 'temperature' | 'threshold'>,
  miner: PairMiner | undefined,
  embeddings: tf.Tensor2D,
  labelSimilarity: tf.Tensor2D,
): tf.Scalar {
  return tf.tidy(() => {
    const weights = labelSimilarity;
    const others = tf.scalar(1).sub(tf.eye(embeddings.shape[0]));
    const related = tf.step(weights.sub(options.threshold).sub(1e-12)).mul(others) as tf.Tensor2D;
    const unrelated = others.sub(related) as tf.Tensor2D;
    const { positive, negative } = miner
      ? miner.select(detached(parts.distance.distances(embeddings)), related, unrelated)
      : { positive: related, negative: unrelated };
    const logits = parts.distance.similarities(embeddings).div(options.temperature) as tf.Tensor2D;
    const logProbability = logits.sub(maskedLogSumExp(logits, positive.add(negative) as tf.Tensor2D).reshape([-1, 1]));
    const perAnchor = logProbability.mul(weights).mul(positive).sum(1).div(positive.sum(1).maximum(1)).neg();
    const bothKinds = tf.step(positive.sum().sub(0.5)).mul(tf.step(negative.sum().sub(0.5)));
    return reduce(parts.reducer, perAnchor.mul(bothKinds), tf.onesLike(perAnchor));
  });
}

/**
 * `multi-supcon`: the training loop gives one class per row, i.e. one-element label sets (Jaccard 1 for the same
 * class, 0 otherwise), where the loss equals `supcon`; multi-label batches call `multiSupConLoss` with the Jaccard
 * similarity of their label sets.
 */
export const multiSupCon = defineLoss<MultiSupConOptions>({
  name: 'multi-supcon',
  description:
    'multi-label supervised contrastive (PML 3 MultiSupConLoss): positives by Jaccard similarity of label sets > threshold, weighted by it',
  defaults: MULTI_SUPCON_DEFAULTS,
  ranges: { temperature: { above: 0 }, threshold: { min: 0, max: 1 } },
  create: (o, components) => {
    const parts = lossParts('multi-supcon', o, components);
    return ({ miner }) => {
      const pairMiner = minerOfKind(miner, 'pair', 'multi-supcon');
      return embeddingLoss(parts, (embeddings, labels) =>
        tf.tidy(() => {
          const column = labels.toInt().reshape([-1, 1]);
          const sameClass = tf.equal(column, column.transpose()).toFloat() as tf.Tensor2D;
          return multiSupConLoss(parts, o, pairMiner, embeddings, sameClass);
        }),
      );
    };
  },
});
