import * as tf from '@tensorflow/tfjs';
import { defineLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { maskedLogSumExp, rowHasAny } from '../../core/losses/log-sum-exp.js';
import { pairLoss } from '../../core/losses/pair-loss.js';
import { reduce, type Reducer } from '../../core/losses/reducers.js';

export interface LabelledNtXentOptions extends LossPartOptions {
  /** Temperature τ dividing the similarities before the softmax. */
  readonly temperature: number;
}

export const LABELLED_NT_XENT_DEFAULTS: LabelledNtXentOptions = {
  temperature: 0.07,
  distance: 'cosine',
  reducer: 'mean',
  regularizer: null,
};

/**
 * The NT-Xent (InfoNCE) term of each positive pair (a, p):
 *   −log( e^(z_ap) / (e^(z_ap) + Σ_{n ∈ N(a)} e^(z_an)) ) = softplus(log Σ_n e^(z_an) − z_ap)
 * with the anchor's other positives left out of the denominator; 0 for an anchor without
 * negatives. The B×B terms are reduced over the positive pairs.
 */
export function labelledNtXent(
  logits: tf.Tensor2D,
  positive: tf.Tensor2D,
  negative: tf.Tensor2D,
  reducer: Reducer,
): tf.Scalar {
  return tf.tidy(() => {
    const negatives = maskedLogSumExp(logits, negative).reshape([-1, 1]);
    const perPair = tf.softplus(negatives.sub(logits)).mul(rowHasAny(negative).reshape([-1, 1]));
    return reduce(reducer, perPair, positive);
  });
}

/**
 * pytorch-metric-learning's NTXentLoss: NT-Xent over labelled rows, where every same-label pair
 * is a positive (`nt-xent` is the two-view SimCLR form without labels). z = s/τ with s the
 * distance's similarity (−d for a distance). A pair miner narrows the pairs.
 */
export const labelledNtXentLoss = defineLoss<LabelledNtXentOptions>({
  name: 'nt-xent-labels',
  description: 'NT-Xent / InfoNCE with labels: one term per same-label pair, negatives of its anchor (PML NTXentLoss)',
  defaults: LABELLED_NT_XENT_DEFAULTS,
  ranges: { temperature: { above: 0 } },
  create: (o, components) => {
    const parts = lossParts('nt-xent-labels', o, components);
    return ({ miner }) =>
      pairLoss('nt-xent-labels', parts, miner, ({ similarities, positive, negative }) =>
        labelledNtXent(similarities().div(o.temperature) as tf.Tensor2D, positive, negative, parts.reducer),
      );
  },
});
