import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../core/errors.js';
import { defineLoss, embeddingLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { noMiner } from '../../core/losses/pairwise.js';
import { reduce } from '../../core/losses/reducers.js';
import { classMatrix, crossEntropyPerRow, indicator } from './class-weights.js';

export interface SoftTripleOptions extends LossPartOptions {
  /** K centres per class. */
  readonly centres: number;
  /** λ, the scale of the class logits (PML's `la`). */
  readonly scale: number;
  /** γ: the centres of a class are weighted by softmax(s/γ). */
  readonly gamma: number;
  /** δ, subtracted from the true class's similarity. */
  readonly margin: number;
}

export const SOFT_TRIPLE_DEFAULTS: SoftTripleOptions = {
  centres: 10,
  scale: 20,
  gamma: 0.1,
  margin: 0.01,
  distance: 'cosine',
  reducer: 'mean',
  regularizer: null,
};

/**
 * SoftTriple (Qian et al. 2019) with K trainable centres per class (checkpoint name `centres`,
 * C·K × D, a class's centres on consecutive rows): a row's similarity to class c is
 *   S′_c = Σ_k softmax_k(s(x, w_c^k)/γ)·s(x, w_c^k)
 * and the loss the cross-entropy of λ·(S′ − δ·[c = y]), reduced (by default averaged). The
 * paper's centre regulariser is left out, as in pytorch-metric-learning's default.
 */
export const softTriple = defineLoss<SoftTripleOptions>({
  name: 'soft-triple',
  description: 'SoftTriple (Qian 2019): K centres per class, soft-max similarity to a class, margin δ, scale λ',
  defaults: SOFT_TRIPLE_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('soft-triple', o, components);
    if (!Number.isInteger(o.centres) || o.centres < 1)
      throw new UserError(`soft-triple: centres must be a whole number ≥ 1, got ${o.centres}`);
    return ({ numClasses, embeddingDim, miner, seed }) => {
      noMiner(miner, 'soft-triple');
      const { matrix: centres, trainable } = classMatrix(
        'soft-triple',
        'centres',
        [numClasses * o.centres, embeddingDim],
        seed,
      );
      return embeddingLoss(
        parts,
        (embeddings, labels) =>
          tf.tidy(() => {
            const s = parts.distance.similarities(embeddings, centres).reshape([-1, numClasses, o.centres]);
            const toClasses = tf.softmax(s.div(o.gamma)).mul(s).sum(2) as tf.Tensor2D;
            const logits = toClasses.sub(indicator(labels, numClasses).mul(o.margin)).mul(o.scale) as tf.Tensor2D;
            const perRow = crossEntropyPerRow(logits, labels);
            return reduce(parts.reducer, perRow, tf.onesLike(perRow));
          }),
        trainable,
      );
    };
  },
});
