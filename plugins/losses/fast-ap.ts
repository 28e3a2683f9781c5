import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../core/errors.js';
import { defineLoss, embeddingLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { rowHasAny } from '../../core/losses/log-sum-exp.js';
import { labelMasks, noMiner } from '../../core/losses/pairwise.js';
import { reduce } from '../../core/losses/reducers.js';

export interface FastApOptions extends LossPartOptions {
  /** Soft histogram bins over the range of the distance. */
  readonly numBins: number;
}

export const FAST_AP_DEFAULTS: FastApOptions = {
  numBins: 10,
  distance: 'squared-l2',
  reducer: 'mean',
  regularizer: null,
};

/** Largest distance between unit rows, the histogram's range. */
const RANGE: Partial<Record<string, number>> = { 'squared-l2': 4, l2: 2, cosine: 2 };

/**
 * Per row, the soft histograms of its distances over the rows of `first` and of `second` (masks),
 * B × (bins + 1) each: relu(1 − |d − b_k| / Δ) summed per bin. Built one bin at a time, and so is
 * the gradient with respect to d (∂/∂d = −sign(d − b_k)/Δ inside the bin), so the tape holds the
 * B×B distances and the two masks only, whatever the number of bins.
 */
function softHistograms(
  d: tf.Tensor2D,
  first: tf.Tensor2D,
  second: tf.Tensor2D,
  bins: number,
  width: number,
): [tf.Tensor2D, tf.Tensor2D] {
  const histograms = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [distances, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const columns = [...Array(bins + 1).keys()].map((k) =>
      tf.tidy(() => {
        const pulse = tf.relu(
          tf.scalar(1).sub(
            distances
              .sub(k * width)
              .abs()
              .div(width),
          ),
        );
        return [pulse.mul(first).sum(1), pulse.mul(second).sum(1)] as const;
      }),
    );
    save([distances, first, second]);
    const value = tf.concat(
      [
        tf.stack(
          columns.map(([a]) => a),
          1,
        ),
        tf.stack(
          columns.map(([, b]) => b),
          1,
        ),
      ],
      1,
    );
    tf.dispose(columns.flat());
    return {
      value,
      gradFunc: (dy: tf.Tensor, [saved, inFirst, inSecond]: tf.Tensor[]) =>
        tf.tidy(() => {
          let gradient = tf.zerosLike(saved!);
          for (let k = 0; k <= bins; k++) {
            const previous = gradient;
            gradient = tf.tidy(() => {
              const offset = saved!.sub(k * width);
              const slope = tf
                .sign(offset)
                .neg()
                .div(width)
                .mul(tf.step(tf.scalar(width).sub(offset.abs())));
              const upstream = inFirst!
                .mul(dy.slice([0, k], [-1, 1]))
                .add(inSecond!.mul(dy.slice([0, bins + 1 + k], [-1, 1])));
              return previous.add(slope.mul(upstream));
            });
            previous.dispose();
          }
          return gradient;
        }),
    };
  });
  const both = histograms(d) as tf.Tensor2D;
  return [both.slice([0, 0], [-1, bins + 1]), both.slice([0, bins + 1], [-1, bins + 1])];
}

/**
 * FastAP (Cakir et al. 2019): average precision of each anchor's ranking, from soft histograms of
 * its distances on numBins + 1 evenly spaced centres b_k over [0, range] (Δ = range / numBins):
 * a distance d adds relu(1 − |d − b_k| / Δ) to bin k. With h⁺, h⁻ the positive and negative
 * histograms and H⁺, H their cumulative sums (H over both),
 *   FastAP = (1/N⁺) Σ_k h⁺_k·H⁺_k / H_k  (bins with H_k > 0),   loss = 1 − FastAP
 * per anchor with a positive, reduced (by default averaged).
 */
export const fastAp = defineLoss<FastApOptions>({
  name: 'fast-ap',
  description: 'FastAP (Cakir 2019): 1 − average precision from soft distance histograms',
  defaults: FAST_AP_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('fast-ap', o, components);
    const range = RANGE[parts.distance.name];
    if (range === undefined || !parts.distance.normalize) {
      throw new UserError(
        `fast-ap: its histogram needs a bounded distance of unit rows, not ${parts.distance.name}${parts.distance.normalize ? '' : ' without normalize'}`,
        'use squared-l2 (the default), l2 or cosine',
      );
    }
    if (!Number.isInteger(o.numBins) || o.numBins < 1)
      throw new UserError(`fast-ap: numBins must be a whole number ≥ 1, got ${o.numBins}`);
    const width = range / o.numBins;
    return ({ miner }) => {
      noMiner(miner, 'fast-ap');
      return embeddingLoss(parts, (embeddings, labels) =>
        tf.tidy(() => {
          const d = parts.distance.distances(embeddings);
          const { positive, negative } = labelMasks(labels);
          const [hPositive, hAll] = softHistograms(
            d,
            positive,
            positive.add(negative) as tf.Tensor2D,
            o.numBins,
            width,
          );
          const cumulativePositive = tf.cumsum(hPositive, 1);
          const cumulative = tf.cumsum(hAll, 1);
          const filled = tf.step(cumulative.sub(1e-12));
          const precision = hPositive
            .mul(cumulativePositive)
            .mul(filled)
            .div(cumulative.add(tf.scalar(1).sub(filled)));
          const averagePrecision = precision.sum(1).div(positive.sum(1).maximum(1));
          return reduce(parts.reducer, tf.scalar(1).sub(averagePrecision), rowHasAny(positive));
        }),
      );
    };
  },
});
