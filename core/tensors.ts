import * as tf from '@tensorflow/tfjs';

/** Tensor utilities shared by the models, the training loop and the heads. */

/** Rows scaled to unit length; an all-zero row stays zero (no NaN, finite gradient). */
export function l2Normalize(x: tf.Tensor2D, epsilon = 1e-12): tf.Tensor2D {
  return tf.tidy(() => x.div(x.square().sum(1, true).add(epsilon).sqrt()) as tf.Tensor2D);
}
