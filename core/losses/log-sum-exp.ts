import * as tf from '@tensorflow/tfjs';
import { outsideTape } from './pairwise.js';

/** 1 for each row of `mask` with at least one entry, else 0 (a B vector). */
export function rowHasAny(mask: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.step(mask.sum(1).sub(0.5)) as tf.Tensor1D);
}

/**
 * Per row, log Σ_j exp(z_ij) over the entries where `mask` is 1, or log(1 + Σ …) with `addOne`
 * (pytorch-metric-learning's masked logsumexp). A row whose mask is empty gives 0 (log 1 with
 * `addOne`; by convention without), with a zero, finite gradient. Masked-out entries never reach
 * `exp`, so they cannot overflow; the row maximum is a constant shift taken outside the gradient.
 */
export function maskedLogSumExp(z: tf.Tensor2D, mask: tf.Tensor2D, addOne = false): tf.Tensor1D {
  return tf.tidy(() => {
    const keep = mask.greater(0);
    const lowest = tf.fill(z.shape, -Infinity);
    const rowMax = outsideTape(z, (values) => tf.where(keep, values, lowest).max(1, true));
    const any = rowHasAny(mask).reshape([-1, 1]);
    let shift = tf.where(any.greater(0), rowMax, tf.zerosLike(rowMax));
    if (addOne) shift = shift.maximum(0);
    const sum = tf.exp(tf.where(keep, z.sub(shift), lowest)).sum(1, true);
    const rest = addOne ? tf.exp(shift.neg()) : tf.scalar(1).sub(any);
    return sum.add(rest).log().add(shift).reshape([-1]) as tf.Tensor1D;
  });
}
