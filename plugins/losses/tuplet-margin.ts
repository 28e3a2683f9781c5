import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../core/errors.js';
import { defineLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { maskedLogSumExp, rowHasAny } from '../../core/losses/log-sum-exp.js';
import { pairLoss } from '../../core/losses/pair-loss.js';
import { reduce } from '../../core/losses/reducers.js';

export interface TupletMarginOptions extends LossPartOptions {
  /** The angular margin β, in degrees. */
  readonly marginDegrees: number;
  /** The scale s. */
  readonly scale: number;
}

export const TUPLET_MARGIN_DEFAULTS: TupletMarginOptions = {
  marginDegrees: 5.73,
  scale: 64,
  distance: 'cosine',
  reducer: 'mean',
  regularizer: null,
};

/**
 * Tuplet margin loss (Yu & Tao 2019), per positive pair (a, p) with θ_ap its angle:
 *   log(1 + Σ_{n ∈ N(a)} e^(s·(cos θ_an − cos(θ_ap − β))))
 * = softplus(log Σ_n e^(s·cos θ_an) − s·cos(θ_ap − β)), reduced over the positive pairs (by
 * default their mean). Cosines are clamped to ±(1 − 10⁻⁷) before acos.
 */
export const tupletMargin = defineLoss<TupletMarginOptions>({
  name: 'tuplet-margin',
  description:
    'tuplet margin (Yu 2019): each positive pair, its angle narrowed by β (degrees), against the anchor’s negatives, scale s',
  defaults: TUPLET_MARGIN_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('tuplet-margin', o, components);
    if (parts.distance.name !== 'cosine')
      throw new UserError(
        `tuplet-margin: works on angles, so on the cosine distance, not ${parts.distance.name}`,
        'drop the distance option',
      );
    const margin = (o.marginDegrees * Math.PI) / 180;
    return ({ miner }) =>
      pairLoss('tuplet-margin', parts, miner, ({ matrix, positive, negative }) => {
        const cos = matrix();
        const narrowed = tf.cos(tf.acos(cos.clipByValue(-1 + 1e-7, 1 - 1e-7)).sub(margin)).mul(o.scale);
        const negatives = maskedLogSumExp(cos.mul(o.scale) as tf.Tensor2D, negative).reshape([-1, 1]);
        const perPair = tf.softplus(negatives.sub(narrowed)).mul(rowHasAny(negative).reshape([-1, 1]));
        return reduce(parts.reducer, perPair, positive);
      });
  },
});
