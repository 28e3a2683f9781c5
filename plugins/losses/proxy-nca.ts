import * as tf from '@tensorflow/tfjs';
import type { LossFactory } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { embeddingLoss, lossParts, type LossPartOptions } from '../../core/losses/embedding-loss.js';
import { noMiner } from '../../core/losses/pairwise.js';
import { reduce } from '../../core/losses/reducers.js';
import { classMatrix, crossEntropyPerRow } from './class-weights.js';

export interface ProxyNcaOptions extends LossPartOptions {
  /** The scale s in e^(−s·d). */
  readonly softmaxScale: number;
}

export const PROXY_NCA_DEFAULTS: ProxyNcaOptions = {
  softmaxScale: 1,
  distance: 'squared-l2',
  reducer: 'mean',
  regularizer: null,
};

/**
 * ProxyNCA (Movshovitz-Attias et al. 2017) with one trainable proxy per class (checkpoint name
 * `proxies`, C × D): per row, −log softmax_z(−s·d(x, p_z))[its class] over all proxies, the
 * target's included (as pytorch-metric-learning; the paper leaves it out of the denominator),
 * with d the squared L2 distance of unit rows by default (s·sim for a similarity); reduced
 * (by default averaged).
 */
export const proxyNca: Registration<LossFactory, ProxyNcaOptions> = {
  name: 'proxy-nca',
  description: 'ProxyNCA (Movshovitz-Attias 2017): softmax over −s·d to one proxy per class',
  defaults: PROXY_NCA_DEFAULTS,
  create: (options) => {
    const o = { ...PROXY_NCA_DEFAULTS, ...options };
    const parts = lossParts('proxy-nca', o, PROXY_NCA_DEFAULTS);
    return ({ numClasses, embeddingDim, miner }) => {
      noMiner(miner, 'proxy-nca');
      const { matrix: proxies, trainable } = classMatrix('proxy-nca', 'proxies', [numClasses, embeddingDim], 32);
      return embeddingLoss(
        parts,
        (embeddings, labels) =>
          tf.tidy(() => {
            const perRow = crossEntropyPerRow(
              parts.distance.similarities(embeddings, proxies).mul(o.softmaxScale) as tf.Tensor2D,
              labels,
            );
            return reduce(parts.reducer, perRow, tf.onesLike(perRow));
          }),
        trainable,
      );
    };
  },
};
