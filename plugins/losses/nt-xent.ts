import * as tf from '@tensorflow/tfjs';
import type { LossFactory, ViewLoss } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { l2Normalize } from '../../core/losses/class-matrix.js';

export interface NtXentOptions {
  readonly temperature: number;
}

/**
 * NT-Xent (SimCLR) for unlabelled data: rows i of `a` and `b` are two augmented views of one item.
 * Over the 2B views, each view's positive is its twin and the other 2B − 2 views are negatives:
 * loss = mean over views of −log softmax(sim/τ)[twin], the view itself excluded.
 */
export const ntXent: Registration<LossFactory, NtXentOptions> = {
  name: 'nt-xent',
  description: 'NT-Xent (SimCLR): two augmented views per item, no labels, temperature τ',
  defaults: { temperature: 0.5 },
  create: (options) => {
    const temperature = options?.temperature ?? 0.5;
    return (): ViewLoss => ({
      input: 'views',
      compute: (a, b) =>
        tf.tidy(() => {
          const n = a.shape[0];
          const z = l2Normalize(tf.concat([a, b], 0) as tf.Tensor2D);
          const logits = tf.matMul(z, z, false, true).div(temperature).sub(tf.eye(2 * n).mul(1e9));
          const twins = tf.tensor1d([...Array(2 * n).keys()].map((i) => (i + n) % (2 * n)), 'int32');
          const targets = tf.oneHot(twins, 2 * n).toFloat();
          return tf.logSoftmax(logits).mul(targets).sum(1).mean().neg() as tf.Scalar;
        }),
    });
  },
};
