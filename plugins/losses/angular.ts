import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../core/errors.js';
import { defineLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { rowHasAny } from '../../core/losses/log-sum-exp.js';
import { pairLoss } from '../../core/losses/pair-loss.js';
import { outsideTape } from '../../core/losses/pairwise.js';
import { l2Normalize } from '../../core/tensors.js';
import { reduce } from '../../core/losses/reducers.js';

export interface AngularOptions extends LossPartOptions {
  /** The angle α at the negative, in degrees (the paper uses 36-55). */
  readonly alphaDegrees: number;
  /**
   * Whether the negatives enter as unit rows like the anchor and the positive (the paper); false takes their raw
   * rows, as pytorch-metric-learning's AngularLoss, which normalises only anchors and positives.
   */
  readonly normalizeNegatives: boolean;
}

export const ANGULAR_DEFAULTS: AngularOptions = {
  alphaDegrees: 40,
  normalizeNegatives: true,
  distance: 'cosine',
  reducer: 'mean',
  regularizer: null,
};

/**
 * Angular loss (Wang et al. 2017), per positive pair (a, p), with t = tan²α and s the similarity:
 *   log(1 + Σ_{n ∈ N(a)} e^(4t·(s_an + s_pn) − 2(1 + t)·s_ap))
 * ((x_a + x_p)·x_n = s_an + s_pn on unit rows), reduced over the positive pairs (by default the
 * mean). The sum over negatives factorises: Σ_n e^(c·s_an)·e^(c·s_pn) is entry (a, p) of
 * (N ∘ E)·Eᵀ with E = e^(c·(s − 1)) (shifted so no term overflows), so memory is B×B, never B³.
 * With `normalizeNegatives: false` (PML) the negative's raw row x_n replaces its unit row: the exponent's first
 * part is 4t·(x̂_a + x̂_p)·x_n, and E = e^(c·(x̂_a·x_n − M)) with M the largest row length.
 */
export const angular = defineLoss<AngularOptions>({
  name: 'angular',
  description:
    'angular loss (Wang 2017): bounds the angle at the negative of each (anchor, positive, negative) by α (degrees)',
  defaults: ANGULAR_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('angular', o, components);
    if (!parts.distance.similarity)
      throw new UserError(
        `angular: works on dot products, not the ${parts.distance.name} distance`,
        'use distance cosine (the default) or dot',
      );
    const t = Math.tan((o.alphaDegrees * Math.PI) / 180) ** 2;
    const c = 4 * t;
    return ({ miner }) =>
      pairLoss('angular', parts, miner, ({ embeddings, matrix, positive, negative }) => {
        const s = matrix();
        // towardsNegative[a, n] = x̂_a·x_n, at most `bound`.
        const [towardsNegative, bound] = o.normalizeNegatives
          ? [s, tf.scalar(1)]
          : [
              tf.matMul(l2Normalize(embeddings), embeddings, false, true),
              outsideTape(embeddings, (x) => x.norm('euclidean', 1).max()),
            ];
        const e = tf.exp(towardsNegative.sub(bound).mul(c));
        const negativeSums = tf.matMul(e.mul(negative), e, false, true);
        const exponent = negativeSums
          .add(1e-30)
          .log()
          .add(bound.mul(2 * c))
          .sub(s.mul(2 * (1 + t)));
        const perPair = tf.softplus(exponent).mul(rowHasAny(negative).reshape([-1, 1]));
        return reduce(parts.reducer, perPair, positive);
      });
  },
});
