import * as tf from '@tensorflow/tfjs';
import { defineLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { maskedLogSumExp, rowHasAny } from '../../core/losses/log-sum-exp.js';
import { pairLoss } from '../../core/losses/pair-loss.js';
import { reduce } from '../../core/losses/reducers.js';

export interface SupConOptions extends LossPartOptions {
  /** Temperature τ dividing the similarities before the softmax. */
  readonly temperature: number;
}

export const SUPCON_DEFAULTS: SupConOptions = {
  temperature: 0.1,
  distance: 'cosine',
  reducer: 'mean-non-zero',
  regularizer: null,
};

/**
 * Supervised contrastive loss (Khosla et al. 2020, L_out), per anchor i with positives P(i):
 *   −(1/|P(i)|) Σ_{p ∈ P(i)} log( e^(s_ip/τ) / Σ_{a ∈ A(i)} e^(s_ia/τ) )
 * where A(i) is every other row (its positives and negatives) and s the distance's similarity
 * (−d for a distance). Anchors without positives have no term; the rest are reduced (by default
 * averaged over the non-zero ones). A pair miner narrows P and A.
 */
export const supCon = defineLoss<SupConOptions>({
  name: 'supcon',
  description: 'supervised contrastive (Khosla 2020): every same-label row is a positive, temperature τ',
  defaults: SUPCON_DEFAULTS,
  ranges: { temperature: { above: 0 } },
  create: (o, components) => {
    const parts = lossParts('supcon', o, components);
    return ({ miner }) =>
      pairLoss('supcon', parts, miner, ({ similarities, positive, negative }) => {
        const logits = similarities().div(o.temperature) as tf.Tensor2D;
        const logProbability = logits.sub(
          maskedLogSumExp(logits, positive.add(negative) as tf.Tensor2D).reshape([-1, 1]),
        );
        const perAnchor = logProbability.mul(positive).sum(1).div(positive.sum(1).maximum(1)).neg();
        return reduce(parts.reducer, perAnchor, rowHasAny(positive));
      });
  },
});
