import { defineLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { classSoftmaxLoss } from './class-weights.js';

export interface NormalizedSoftmaxOptions extends LossPartOptions {
  /** Temperature τ dividing the similarities before the softmax. */
  readonly temperature: number;
}

export const NORMALIZED_SOFTMAX_DEFAULTS: NormalizedSoftmaxOptions = {
  temperature: 0.05,
  distance: 'cosine',
  reducer: 'mean',
  regularizer: null,
};

/**
 * Normalized softmax (Zhai & Wu 2019): cross-entropy of s(x, w_c)/τ with a trainable class matrix
 * (checkpoint name `weight`, C × D) and s the cosine (the distance's similarity; −d for a
 * distance); reduced (by default averaged).
 */
export const normalizedSoftmax = defineLoss<NormalizedSoftmaxOptions>({
  name: 'normalized-softmax',
  description: 'normalized softmax (Zhai 2019): softmax over cosines to a class matrix divided by τ',
  defaults: NORMALIZED_SOFTMAX_DEFAULTS,
  ranges: { temperature: { above: 0 } },
  create: (o, components) =>
    classSoftmaxLoss('normalized-softmax', 'weight', lossParts('normalized-softmax', o, components), (similarities) =>
      similarities.div(o.temperature),
    ),
});
