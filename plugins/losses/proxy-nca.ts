import { defineLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { classSoftmaxLoss } from './class-weights.js';

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
export const proxyNca = defineLoss<ProxyNcaOptions>({
  name: 'proxy-nca',
  description: 'ProxyNCA (Movshovitz-Attias 2017): softmax over −s·d to one proxy per class',
  defaults: PROXY_NCA_DEFAULTS,
  create: (o, components) =>
    classSoftmaxLoss('proxy-nca', 'proxies', lossParts('proxy-nca', o, components), (similarities) =>
      similarities.mul(o.softmaxScale),
    ),
});
