import * as tf from '@tensorflow/tfjs';
import { defineLoss, embeddingLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { maskedLogSumExp, rowHasAny } from '../../core/losses/log-sum-exp.js';
import { noMiner } from '../../core/losses/pairwise.js';
import { reduce } from '../../core/losses/reducers.js';
import { classMatrix, indicator } from './class-weights.js';

export interface ProxyAnchorOptions extends LossPartOptions {
  /** δ. */
  readonly margin: number;
  /** The scale α. */
  readonly alpha: number;
}

export const PROXY_ANCHOR_DEFAULTS: ProxyAnchorOptions = {
  margin: 0.1,
  alpha: 32,
  distance: 'cosine',
  reducer: 'mean',
  regularizer: null,
};

/**
 * Proxy-Anchor loss (Kim et al. 2020) with one trainable proxy per class (checkpoint name `proxies`, C × D):
 *   (1/|P⁺|) Σ_{p ∈ P⁺} log(1 + Σ_{x ∈ X_p⁺} e^(−α(s(x,p) − δ)))
 *   + (1/|P|) Σ_{p ∈ P} log(1 + Σ_{x ∈ X_p⁻} e^(α(s(x,p) + δ)))
 * P⁺ the proxies whose class is in the batch, X_p⁺ / X_p⁻ the rows of / not of p's class, s the
 * similarity (for a distance d, s − δ becomes δ − d and s + δ becomes −δ − d). Each of the two
 * sums over proxies is the reducer's (by default the mean).
 */
export const proxyAnchor = defineLoss<ProxyAnchorOptions>({
  name: 'proxy-anchor',
  description:
    'Proxy-Anchor (Kim 2020): each class proxy against the rows of its class and of the others, margin δ, scale α',
  defaults: PROXY_ANCHOR_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('proxy-anchor', o, components);
    return ({ numClasses, embeddingDim, miner, seed }) => {
      noMiner(miner, 'proxy-anchor');
      const { matrix: proxies, trainable } = classMatrix('proxy-anchor', 'proxies', [numClasses, embeddingDim], seed);
      return embeddingLoss(
        parts,
        (embeddings, labels) =>
          tf.tidy(() => {
            const { distance } = parts;
            const values = distance.matrix(embeddings, proxies).transpose() as tf.Tensor2D; // C × B
            const [pull, push] = distance.similarity
              ? [values.sub(o.margin), values.add(o.margin)]
              : [tf.scalar(o.margin).sub(values), values.neg().sub(o.margin)];
            const members = indicator(labels, numClasses).transpose() as tf.Tensor2D;
            const others = tf.scalar(1).sub(members) as tf.Tensor2D;
            const positiveTerm = maskedLogSumExp(pull.mul(-o.alpha) as tf.Tensor2D, members, true);
            const negativeTerm = maskedLogSumExp(push.mul(o.alpha) as tf.Tensor2D, others, true);
            return reduce(parts.reducer, positiveTerm, rowHasAny(members)).add(
              reduce(parts.reducer, negativeTerm, tf.onesLike(negativeTerm)),
            ) as tf.Scalar;
          }),
        trainable,
      );
    };
  },
});
