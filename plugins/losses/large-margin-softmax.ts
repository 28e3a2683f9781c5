import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../core/errors.js';
import { defineLoss, embeddingLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { noMiner, outsideTape } from '../../core/losses/pairwise.js';
import { piecewisePsi } from '../../core/losses/psi.js';
import { reduce } from '../../core/losses/reducers.js';
import { classMatrix, crossEntropyPerRow, indicator } from './class-weights.js';

export interface LargeMarginSoftmaxOptions extends LossPartOptions {
  /** The integer angular multiplier m. */
  readonly margin: number;
  /** Scale s of the logits. */
  readonly scale: number;
}

export const LARGE_MARGIN_SOFTMAX_DEFAULTS: LargeMarginSoftmaxOptions = {
  margin: 4,
  scale: 1,
  distance: 'cosine',
  reducer: 'mean',
  regularizer: null,
};

function binomial(n: number, k: number): number {
  let result = 1;
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i;
  return result;
}

/**
 * ψ(θ) (core/losses/psi.ts) from c = cos θ: cos(mθ) is the Chebyshev
 * polynomial Σ_n (−1)^n·C(m, 2n)·c^(m−2n)·(1 − c²)^n (smooth in c, no acos in the gradient), and
 * k = ⌊mθ/π⌋ a constant. ψ decreases monotonically from 1 at θ = 0 to −(2m − 1) at θ = π.
 */
export function largeMarginCosine(cos: tf.Tensor, m: number): tf.Tensor {
  return tf.tidy(() => {
    const c = cos.clipByValue(-1 + 1e-7, 1 - 1e-7);
    const sine2 = tf.scalar(1).sub(c.square());
    let multiple: tf.Tensor = tf.zerosLike(c);
    for (let n = 0; 2 * n <= m; n++)
      multiple = multiple.add(
        c
          .pow(m - 2 * n)
          .mul(sine2.pow(n))
          .mul((-1) ** n * binomial(m, 2 * n)),
      );
    const k = outsideTape(c, (values) => tf.floor(tf.acos(values).mul(m / Math.PI)).minimum(m - 1));
    return piecewisePsi(multiple, k);
  });
}

/**
 * Large-margin softmax (Liu et al. 2016), a trainable class matrix W (checkpoint name `weight`,
 * C × D) without normalisation: logit_j = s·‖W_j‖·‖x‖·cos θ_j, the true class's cos θ replaced by
 * ψ(θ) (see largeMarginCosine); cross-entropy, reduced (by default averaged). The norms are the
 * raw ones by definition; θ comes from the cosine distance.
 */
export const largeMarginSoftmax = defineLoss<LargeMarginSoftmaxOptions>({
  name: 'large-margin-softmax',
  description: 'large-margin softmax (Liu 2016): ‖W‖‖x‖·ψ(θ) for the true class, integer margin m',
  defaults: LARGE_MARGIN_SOFTMAX_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('large-margin-softmax', o, components);
    if (!Number.isInteger(o.margin) || o.margin < 1)
      throw new UserError(
        `large-margin-softmax: margin must be a whole number ≥ 1 (the angle multiplier), got ${o.margin}`,
      );
    if (parts.distance.name !== 'cosine')
      throw new UserError(
        `large-margin-softmax: works on angles, so on the cosine distance, not ${parts.distance.name}`,
        'drop the distance option',
      );
    return ({ numClasses, embeddingDim, miner, seed }) => {
      noMiner(miner, 'large-margin-softmax');
      const { matrix: weight, trainable } = classMatrix(
        'large-margin-softmax',
        'weight',
        [numClasses, embeddingDim],
        seed,
      );
      return embeddingLoss(
        parts,
        (embeddings, labels) =>
          tf.tidy(() => {
            const cos = parts.distance.matrix(embeddings, weight);
            const target = indicator(labels, numClasses);
            const targetCos = cos.mul(target).sum(1, true);
            const angular = cos.add(target.mul(largeMarginCosine(targetCos, o.margin).sub(targetCos)));
            const norms = embeddings
              .square()
              .sum(1, true)
              .add(1e-12)
              .sqrt()
              .mul(weight.square().sum(1).add(1e-12).sqrt().reshape([1, -1]));
            const perRow = crossEntropyPerRow(angular.mul(norms).mul(o.scale) as tf.Tensor2D, labels);
            return reduce(parts.reducer, perRow, tf.onesLike(perRow));
          }),
        trainable,
      );
    };
  },
});
