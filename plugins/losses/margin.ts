import * as tf from '@tensorflow/tfjs';
import type { EmbeddingLoss, LossFactory } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';
import { detached, distanceMatrix, labelMasks } from '../../core/losses/pairwise.js';

export interface MarginLossOptions {
  readonly alpha: number;
  readonly initialBeta: number;
  /** Distances below this count as the cutoff when weighting negatives (avoids huge weights). */
  readonly cutoff: number;
}

/**
 * Log of the inverse density of pairwise distances between random points on the unit sphere in
 * n dimensions, q(d) ∝ d^(n−2)·(1 − d²/4)^((n−3)/2): negatives weighted by 1/q(d) are spread
 * evenly over distances (Wu et al. 2017's distance-weighted sampling, taken in expectation).
 */
function logInverseDensity(d: tf.Tensor, n: number, cutoff: number): tf.Tensor {
  return tf.tidy(() => {
    const clipped = d.clipByValue(cutoff, 1.99);
    return clipped.log().mul(-(n - 2)).sub(tf.scalar(1).sub(clipped.square().div(4)).log().mul((n - 3) / 2));
  });
}

/**
 * Margin loss (Wu et al. 2017): relu(α + y·(d − β_c)) with a learnable boundary β per class
 * (class of the anchor), y = +1 for positives and −1 for negatives; negatives carry
 * distance-weighted sampling weights (normalised per anchor, computed outside the gradient).
 * The result is divided by the number of pairs with non-zero loss.
 */
export const marginLoss: Registration<LossFactory, MarginLossOptions> = {
  name: 'margin',
  description: 'margin loss (Wu 2017): learnable per-class β, margin α, distance-weighted negatives',
  defaults: { alpha: 0.2, initialBeta: 1.2, cutoff: 0.5 },
  create: (options) => {
    const o = { alpha: 0.2, initialBeta: 1.2, cutoff: 0.5, ...options };
    return ({ numClasses, embeddingDim, miner }): EmbeddingLoss => {
      if (numClasses < 1) throw new UserError('the margin loss needs the number of classes');
      if (miner) throw new UserError('the margin loss weights its negatives by distance itself', 'drop the miner');
      const beta = tf.variable(tf.fill([numClasses], o.initialBeta));
      return {
        input: 'embeddings',
        variables: () => [beta],
        getWeights: () => ({ beta }),
        setWeights: (weights) => {
          if (!weights.beta || weights.beta.size !== numClasses) throw new UserError(`margin loss: expected beta of ${numClasses} values`);
          beta.assign(weights.beta as tf.Tensor1D);
        },
        dispose: () => beta.dispose(),
        compute: (embeddings, labels) =>
          tf.tidy(() => {
            const d = distanceMatrix(embeddings, 'l2');
            const { positive, negative } = labelMasks(labels);
            const anchorBeta = tf.gather(beta, labels.toInt()).reshape([-1, 1]);
            const logWeight = logInverseDensity(detached(d), embeddingDim, o.cutoff).mul(negative).sub(tf.scalar(1).sub(negative).mul(1e9));
            const weights = detached(tf.softmax(logWeight, 1).mul(negative.sum(1, true)).mul(negative));
            const positiveLoss = tf.relu(d.sub(anchorBeta).add(o.alpha)).mul(positive);
            const negativeLoss = tf.relu(anchorBeta.sub(d).add(o.alpha)).mul(weights);
            const active = tf.step(detached(positiveLoss.add(negativeLoss)).sub(1e-12));
            return positiveLoss.add(negativeLoss).sum().div(active.sum().maximum(1)) as tf.Scalar;
          }),
      };
    };
  },
};
