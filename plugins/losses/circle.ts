import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../core/errors.js';
import { defineLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { maskedLogSumExp, rowHasAny } from '../../core/losses/log-sum-exp.js';
import { outsideTape } from '../../core/losses/pairwise.js';
import { pairLoss } from '../../core/losses/pair-loss.js';
import { reduce } from '../../core/losses/reducers.js';

export interface CircleOptions extends LossPartOptions {
  /** The relaxation m: optima O_p = 1 + m, O_n = −m, margins Δ_p = 1 − m, Δ_n = m. */
  readonly margin: number;
  /** The scale γ. */
  readonly gamma: number;
}

export const CIRCLE_DEFAULTS: CircleOptions = {
  margin: 0.4,
  gamma: 80,
  distance: 'cosine',
  reducer: 'mean-non-zero',
  regularizer: null,
};

/**
 * Circle loss (Sun et al. 2020), per anchor with positives s_p and negatives s_n (similarities):
 *   softplus( log Σ_n e^(γ α_n (s_n − Δ_n)) + log Σ_p e^(−γ α_p (s_p − Δ_p)) )
 * with α_p = [1 + m − s_p]₊ and α_n = [s_n + m]₊ held constant for the gradient. Anchors with
 * both a positive and a negative are reduced (by default averaged over the non-zero ones).
 */
export const circle = defineLoss<CircleOptions>({
  name: 'circle',
  description: 'circle loss (Sun 2020): self-paced weights α on similarities, relaxation m, scale γ',
  defaults: CIRCLE_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('circle', o, components);
    if (!parts.distance.similarity)
      throw new UserError(
        `circle: works on similarities, not the ${parts.distance.name} distance`,
        'use distance cosine (the default) or dot',
      );
    return ({ miner }) =>
      pairLoss('circle', parts, miner, ({ matrix, positive, negative }) => {
        const s = matrix();
        const constant = outsideTape(s, (values) => values.clone());
        const positiveLogits = tf
          .relu(tf.scalar(1 + o.margin).sub(constant))
          .mul(s.sub(1 - o.margin))
          .mul(-o.gamma) as tf.Tensor2D;
        const negativeLogits = tf.relu(constant.add(o.margin)).mul(s.sub(o.margin)).mul(o.gamma) as tf.Tensor2D;
        const perAnchor = tf.softplus(
          maskedLogSumExp(negativeLogits, negative).add(maskedLogSumExp(positiveLogits, positive)),
        );
        return reduce(parts.reducer, perAnchor, rowHasAny(positive).mul(rowHasAny(negative)));
      });
  },
});
