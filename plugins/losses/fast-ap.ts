import * as tf from '@tensorflow/tfjs';
import type { LossFactory } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';
import { embeddingLoss, lossParts, type LossPartOptions } from '../../core/losses/embedding-loss.js';
import { rowHasAny } from '../../core/losses/log-sum-exp.js';
import { labelMasks } from '../../core/losses/pairwise.js';
import { reduce } from '../../core/losses/reducers.js';
import { refuseMiner } from './class-weights.js';

export interface FastApOptions extends LossPartOptions {
  /** Soft histogram bins over the range of the distance. */
  readonly numBins: number;
}

export const FAST_AP_DEFAULTS: FastApOptions = { numBins: 10, distance: 'squared-l2', reducer: 'mean', regularizer: null };

/** Largest distance between unit rows, the histogram's range. */
const RANGE: Partial<Record<string, number>> = { 'squared-l2': 4, l2: 2, cosine: 2 };

/**
 * FastAP (Cakir et al. 2019): average precision of each anchor's ranking, from soft histograms of
 * its distances on numBins + 1 evenly spaced centres b_k over [0, range] (Δ = range / numBins):
 * a distance d adds relu(1 − |d − b_k| / Δ) to bin k. With h⁺, h⁻ the positive and negative
 * histograms and H⁺, H their cumulative sums (H over both),
 *   FastAP = (1/N⁺) Σ_k h⁺_k·H⁺_k / H_k  (bins with H_k > 0),   loss = 1 − FastAP
 * per anchor with a positive, reduced (by default averaged). One bin at a time: B×B memory.
 */
export const fastAp: Registration<LossFactory, FastApOptions> = {
  name: 'fast-ap',
  description: 'FastAP (Cakir 2019): 1 − average precision from soft distance histograms',
  defaults: FAST_AP_DEFAULTS,
  create: (options) => {
    const o = { ...FAST_AP_DEFAULTS, ...options };
    const parts = lossParts('fast-ap', o, FAST_AP_DEFAULTS);
    const range = RANGE[parts.distance.name];
    if (range === undefined || !parts.distance.normalize) {
      throw new UserError(`fast-ap: its histogram needs a bounded distance of unit rows, not ${parts.distance.name}${parts.distance.normalize ? '' : ' without normalize'}`, 'use squared-l2 (the default), l2 or cosine');
    }
    if (!Number.isInteger(o.numBins) || o.numBins < 1) throw new UserError(`fast-ap: numBins must be a whole number ≥ 1, got ${o.numBins}`);
    const width = range / o.numBins;
    return ({ miner }) => {
      refuseMiner(miner, 'fast-ap', 'it ranks every other row of the batch');
      return embeddingLoss(parts, (embeddings, labels) =>
        tf.tidy(() => {
          const d = parts.distance.distances(embeddings);
          const { positive, negative } = labelMasks(labels);
          const positiveBins: tf.Tensor1D[] = [];
          const allBins: tf.Tensor1D[] = [];
          for (let k = 0; k <= o.numBins; k++) {
            const pulse = tf.relu(tf.scalar(1).sub(d.sub(k * width).abs().div(width)));
            positiveBins.push(pulse.mul(positive).sum(1));
            allBins.push(pulse.mul(positive.add(negative)).sum(1));
          }
          const hPositive = tf.stack(positiveBins, 1);
          const cumulativePositive = tf.cumsum(hPositive, 1);
          const cumulative = tf.cumsum(tf.stack(allBins, 1), 1);
          const filled = tf.step(cumulative.sub(1e-12));
          const precision = hPositive.mul(cumulativePositive).mul(filled).div(cumulative.add(tf.scalar(1).sub(filled)));
          const averagePrecision = precision.sum(1).div(positive.sum(1).maximum(1));
          return reduce(parts.reducer, tf.scalar(1).sub(averagePrecision), rowHasAny(positive));
        }),
      );
    };
  },
};
