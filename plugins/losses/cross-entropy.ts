import * as tf from '@tensorflow/tfjs';
import type { LogitLoss } from '../../core/contracts/loss.js';
import { defineLoss } from '../../core/losses/embedding-loss.js';

export interface CrossEntropyOptions {
  /** Label smoothing ε: the target puts 1−ε on the true class and ε/C on every class. */
  readonly labelSmoothing: number;
}

/** Softmax cross-entropy, mean over the batch, computed from log-softmax (stable for large logits). */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, labelSmoothing: number): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[1];
    const target = tf
      .oneHot(labels.toInt(), classes)
      .toFloat()
      .mul(1 - labelSmoothing)
      .add(labelSmoothing / classes);
    return tf.logSoftmax(logits).mul(target).sum(1).mean().neg() as tf.Scalar;
  });
}

export const crossEntropy = defineLoss<CrossEntropyOptions>({
  name: 'cross-entropy',
  description: 'softmax (categorical) cross-entropy on head logits, with label smoothing',
  defaults: { labelSmoothing: 0 },
  create:
    ({ labelSmoothing }) =>
    (): LogitLoss => ({
      input: 'logits',
      compute: (logits, labels) => softmaxCrossEntropy(logits, labels, labelSmoothing),
    }),
});
