import * as tf from '@tensorflow/tfjs';
import type { ViewLoss } from '../../core/contracts/loss.js';
import { defineLoss, type LossPartOptions, lossParts, regularized } from '../../core/losses/embedding-loss.js';
import { labelMasks } from '../../core/losses/pairwise.js';
import { labelledNtXent } from './nt-xent-labels.js';

export interface NtXentOptions extends LossPartOptions {
  /** Temperature τ dividing the similarities before the softmax. */
  readonly temperature: number;
}

export const NT_XENT_DEFAULTS: NtXentOptions = {
  temperature: 0.5,
  distance: 'cosine',
  reducer: 'mean',
  regularizer: null,
};

/**
 * NT-Xent (SimCLR) for unlabelled data: rows i of `a` and `b` are two augmented views of one item.
 * Over the 2B views, each view's positive is its twin and the other 2B − 2 views are negatives:
 * the loss of a view is −log softmax(s/τ)[twin] with s the distance's similarity (cosine by
 * default; an L2 distance d enters as −d), the view itself excluded; the 2B view losses are
 * reduced (by default their mean). This is `nt-xent-labels` with the twins as the only same-label pair.
 */
export const ntXent = defineLoss<NtXentOptions>({
  name: 'nt-xent',
  description: 'NT-Xent (SimCLR): two augmented views per item, no labels, temperature τ',
  defaults: NT_XENT_DEFAULTS,
  ranges: { temperature: { above: 0 } },
  create: (o, components) => {
    const parts = lossParts('nt-xent', o, components);
    return (): ViewLoss => ({
      input: 'views',
      compute: (a, b) =>
        tf.tidy(() => {
          const n = a.shape[0];
          const views = tf.concat([a, b], 0) as tf.Tensor2D;
          // The twins share a label; NT-Xent with labels then gives each view its twin as the one positive.
          const { positive, negative } = labelMasks(
            tf.tensor1d(
              [...Array(2 * n).keys()].map((i) => i % n),
              'int32',
            ),
          );
          const logits = parts.distance.similarities(views).div(o.temperature) as tf.Tensor2D;
          return regularized(parts, labelledNtXent(logits, positive, negative, parts.reducer), views);
        }),
    });
  },
});
