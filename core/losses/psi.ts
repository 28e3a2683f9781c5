import * as tf from '@tensorflow/tfjs';

/**
 * The piecewise ψ(θ) of multiplicative angular margins (SphereFace, large-margin softmax):
 * ψ = (−1)^k·cos(mθ) − 2k on θ in [kπ/m, (k+1)π/m], which keeps decreasing past mθ = π where cos(mθ)
 * would rise again. `cosOfMultiple` is cos(mθ), `k` = ⌊mθ/π⌋ (a constant of the gradient).
 */
export function piecewisePsi(cosOfMultiple: tf.Tensor, k: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    // (−1)^k = 1 − 2·(k mod 2).
    const sign = tf.scalar(1).sub(tf.mod(k, 2).mul(2));
    return sign.mul(cosOfMultiple).sub(k.mul(2));
  });
}
