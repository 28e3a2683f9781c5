// Tensor utilities shared by the backbones, the embedder, the training loop and the heads.
import * as tf from '@tensorflow/tfjs';

/** Rows scaled to unit length; an all-zero row stays zero (no NaN, finite gradient). */
export function l2Normalize(x: tf.Tensor2D, epsilon = 1e-12): tf.Tensor2D {
  return tf.tidy(() => x.div(x.square().sum(1, true).add(epsilon).sqrt()) as tf.Tensor2D);
}

/** Initialisers drawn from consecutive seeds, so that a model built twice with one seed is identical. */
type Initializer = ReturnType<typeof tf.initializers.heNormal>;

export function seededInitializers(seed: number): { he(): Initializer; glorot(): Initializer } {
  let next = seed;
  return {
    he: () => tf.initializers.heNormal({ seed: next++ }),
    glorot: () => tf.initializers.glorotUniform({ seed: next++ }),
  };
}
