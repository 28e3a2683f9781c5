import * as tf from '@tensorflow/tfjs';
import { defineLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { maskedLogSumExp, rowHasAny } from '../../core/losses/log-sum-exp.js';
import { pairLoss } from '../../core/losses/pair-loss.js';
import { reduce } from '../../core/losses/reducers.js';

export interface NcaOptions extends LossPartOptions {
  /** The scale s in e^(−s·d) (the inverse of a softmax temperature). */
  readonly softmaxScale: number;
}

export const NCA_DEFAULTS: NcaOptions = { softmaxScale: 1, distance: 'squared-l2', reducer: 'mean', regularizer: null };

/**
 * Neighbourhood components analysis (Goldberger et al. 2005), per row i with a positive:
 *   −log Σ_{j ∈ P(i)} softmax_j(−s·d_ij), the softmax over every other row j ≠ i
 * (s·sim for a similarity), reduced over those rows (by default averaged).
 */
export const nca = defineLoss<NcaOptions>({
  name: 'nca',
  description: 'NCA (Goldberger 2005): −log of the softmax mass of the same-label rows, over squared L2 by default',
  defaults: NCA_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('nca', o, components);
    return ({ miner }) =>
      pairLoss('nca', parts, miner, ({ similarities, positive, negative }) => {
        const logits = similarities().mul(o.softmaxScale) as tf.Tensor2D;
        const perRow = maskedLogSumExp(logits, positive.add(negative) as tf.Tensor2D).sub(
          maskedLogSumExp(logits, positive),
        );
        return reduce(parts.reducer, perRow, rowHasAny(positive));
      });
  },
});
