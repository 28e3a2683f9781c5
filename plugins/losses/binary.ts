import * as tf from '@tensorflow/tfjs';
import type { LogitLoss, LossFactory } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { defineLoss } from '../../core/losses/embedding-loss.js';

/**
 * One-vs-all sigmoid losses on head logits B×C with one-hot targets from the labels, averaged over
 * every (row, class). Binary cross-entropy −[t·log σ(z) + (1−t)·log(1−σ(z))] and the logistic loss
 * log(1 + e^{−y·z}) with y = 2t − 1 are the same number; both use the stable form
 * max(z, 0) − z·t + log(1 + e^{−|z|}).
 */
export function sigmoidCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(
    () =>
      tf
        .relu(logits)
        .sub(logits.mul(targets))
        .add(tf.log1p(tf.exp(logits.abs().neg()))) as tf.Tensor2D,
  );
}

function oneHot(labels: tf.Tensor1D, classes: number): tf.Tensor2D {
  return tf.oneHot(labels.toInt(), classes).toFloat() as tf.Tensor2D;
}

function sigmoidLoss(name: string, description: string): Registration<LossFactory, Record<string, never>> {
  return defineLoss<Record<string, never>>({
    name,
    description,
    defaults: {},
    create: () => (): LogitLoss => ({
      input: 'logits',
      compute: (logits, labels) =>
        tf.tidy(() => sigmoidCrossEntropy(logits, oneHot(labels, logits.shape[1])).mean() as tf.Scalar),
    }),
  });
}

export const binaryCrossEntropy = sigmoidLoss(
  'binary-cross-entropy',
  'one-vs-all sigmoid binary cross-entropy on head logits (multi-label ready)',
);
export const logistic = sigmoidLoss(
  'logistic',
  'logistic loss log(1 + e^(−y·z)), y = ±1 per class (equal to binary cross-entropy on logits)',
);

export interface FocalOptions {
  /** Focusing exponent: the loss of a well-classified class is scaled by (1 − p)^γ. */
  readonly gamma: number;
  /** Weight of positives; negatives get 1 − α. */
  readonly alpha: number;
}

/** Focal loss (Lin et al. 2017), one-vs-all: α_t·(1 − p_t)^γ·BCE, averaged over every (row, class). */
export const focal = defineLoss<FocalOptions>({
  name: 'focal',
  description: 'focal loss α_t·(1−p_t)^γ·BCE (one-vs-all sigmoid), for rare classes',
  defaults: { gamma: 2, alpha: 0.25 },
  create: ({ gamma, alpha }) => {
    return (): LogitLoss => ({
      input: 'logits',
      compute: (logits, labels) =>
        tf.tidy(() => {
          const targets = oneHot(labels, logits.shape[1]);
          const p = tf.sigmoid(logits);
          const pt = targets.mul(p).add(tf.scalar(1).sub(targets).mul(tf.scalar(1).sub(p)));
          const alphaT = targets.mul(alpha).add(
            tf
              .scalar(1)
              .sub(targets)
              .mul(1 - alpha),
          );
          // 1 − p_t reaches 0 when σ saturates; floored so that γ < 1 keeps a finite gradient.
          const modulation = tf.pow(tf.scalar(1).sub(pt).maximum(1e-7), gamma);
          return alphaT.mul(modulation).mul(sigmoidCrossEntropy(logits, targets)).mean() as tf.Scalar;
        }),
    });
  },
});
