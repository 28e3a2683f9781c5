import * as tf from '@tensorflow/tfjs';
import type { LossFactory, PairLoss } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';
import { PARAMETER_FREE } from '../../core/losses/pairwise.js';
import { sigmoidCrossEntropy } from './binary.js';

/** A one-unit dense classifier over pair features, trained with binary cross-entropy on 0/1 targets. */
function pairClassifier(featureSize: number, features: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D, symmetric: boolean, seed: number): PairLoss {
  const weight = tf.variable(tf.randomNormal([featureSize, 1], 0, 1 / Math.sqrt(featureSize), 'float32', seed));
  const bias = tf.variable(tf.zeros([1]));
  const logit = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.matMul(features(a, b), weight as tf.Tensor2D).add(bias) as tf.Tensor2D;
  return {
    input: 'pairs',
    variables: () => [weight, bias],
    getWeights: () => ({ weight, bias }),
    setWeights: (weights) => {
      for (const [name, variable] of Object.entries({ weight, bias })) {
        const value = weights[name];
        if (!value || value.shape.join() !== variable.shape.join()) throw new UserError(`pair classifier: expected ${name} of shape ${variable.shape}`);
        variable.assign(value);
      }
    },
    dispose: () => tf.dispose([weight, bias]),
    compute: (a, b, targets) =>
      tf.tidy(() => {
        const z = symmetric ? logit(a, b).add(logit(b, a)).div(2) : logit(a, b);
        return sigmoidCrossEntropy(z as tf.Tensor2D, targets.reshape([-1, 1]) as tf.Tensor2D).mean() as tf.Scalar;
      }),
  };
}

export interface ConcatOptions {
  /** Average the logits of (A, B) and (B, A), making the score symmetric. */
  readonly symmetric: boolean;
}

/**
 * Siamese head on [a ; b] → dense → sigmoid. NOT symmetric: f(A, B) ≠ f(B, A) in general, since
 * the two halves of the weight vector differ; `symmetric: true` averages both orders.
 */
export const siameseConcat: Registration<LossFactory, ConcatOptions> = {
  name: 'siamese-concat',
  description: 'siamese pairs: concatenate embeddings → binary classifier (asymmetric unless symmetric: true)',
  defaults: { symmetric: false },
  create: (options) => ({ embeddingDim }) =>
    pairClassifier(2 * embeddingDim, (a, b) => tf.concat([a, b], 1) as tf.Tensor2D, options?.symmetric ?? false, 21),
};

/** Siamese head on |a − b| → dense → sigmoid (symmetric by construction). */
export const siameseDifference: Registration<LossFactory, Record<string, never>> = {
  name: 'siamese-difference',
  description: 'siamese pairs: |a − b| → binary classifier',
  defaults: {},
  create: () => ({ embeddingDim }) => pairClassifier(embeddingDim, (a, b) => a.sub(b).abs() as tf.Tensor2D, false, 22),
};

/** Siamese regression: cosine similarity of the pair fitted to a real target by mean squared error. */
export const siameseCosine: Registration<LossFactory, Record<string, never>> = {
  name: 'siamese-cosine',
  description: 'siamese pairs: cosine similarity → regression (MSE) to a real target',
  defaults: {},
  create: () => (): PairLoss => ({
    input: 'pairs',
    ...PARAMETER_FREE,
    compute: (a, b, targets) => tf.tidy(() => a.mul(b).sum(1).sub(targets).square().mean() as tf.Scalar),
  }),
};
