import * as tf from '@tensorflow/tfjs';
import type { PairMiner } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';
import { Random } from '../../core/random.js';
import { minerRegistration } from './registration.js';

type Select = PairMiner['select'];

function pairMiner<O extends object>(
  name: string,
  description: string,
  defaults: O,
  build: (options: O) => Select,
): Registration<PairMiner, O> {
  return minerRegistration<PairMiner, O>('pair', name, description, defaults, build);
}

export interface MultiSimilarityMinerOptions {
  /** Slack: keep negatives closer than the hardest positive + ε, positives farther than the hardest negative − ε. */
  readonly epsilon: number;
}

/**
 * pytorch-metric-learning 2.x MultiSimilarityMiner(epsilon=0.1) (Wang et al. 2019), written in
 * distances (d = 1 − s for cosine): per anchor, a negative is kept when d_an < max_p d_ap + ε (it
 * is closer than the farthest positive, give or take ε) and a positive when d_ap > min_n d_an − ε.
 */
export const multiSimilarityMiner = pairMiner<MultiSimilarityMinerOptions>(
  'multi-similarity',
  'pairs that violate the other side by ε: negatives with d < max positive d + ε, positives with d > min negative d − ε (Wang 2019)',
  { epsilon: 0.1 },
  ({ epsilon }) =>
    (distances, positive, negative) =>
      tf.tidy(() => {
        const farthestPositive = distances.mul(positive).sub(tf.scalar(1).sub(positive).mul(1e9)).max(1, true);
        const nearestNegative = distances.mul(negative).add(tf.scalar(1).sub(negative).mul(1e9)).min(1, true);
        return {
          positive: positive.mul(tf.step(distances.sub(nearestNegative.sub(epsilon)).sub(1e-12))) as tf.Tensor2D,
          negative: negative.mul(tf.step(farthestPositive.add(epsilon).sub(distances).sub(1e-12))) as tf.Tensor2D,
        };
      }),
);

/**
 * The mask's entries whose distance ranks among the `share` hardest (largest for positives, smallest for negatives),
 * over the batch.
 */
function hardestShare(distances: tf.Tensor2D, mask: tf.Tensor2D, share: number, largest: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const count = mask.sum().dataSync()[0]!;
    const keep = Math.ceil(share * count);
    if (keep === 0) return tf.zerosLike(mask);
    const signed = largest ? distances : distances.neg();
    const ranked = signed.mul(mask).sub(tf.scalar(1).sub(mask).mul(1e9)).reshape([-1]);
    const threshold = tf.topk(ranked, keep).values.min();
    return mask.mul(tf.step(signed.sub(threshold).add(1e-7))) as tf.Tensor2D;
  });
}

export interface HdcOptions {
  /** Share of the positive pairs and of the negative pairs kept, the hardest ones (0 < share ≤ 1). */
  readonly filterPercentage: number;
}

/**
 * pytorch-metric-learning 2.x HDCMiner(filter_percentage=0.5) (Yuan et al. 2017, hard-aware deeply
 * cascaded): keeps the hardest share of the batch's positive pairs (largest d) and of its negative
 * pairs (smallest d).
 */
export const hdc = pairMiner<HdcOptions>(
  'hdc',
  'the hardest share (filterPercentage) of the positive and of the negative pairs of the batch (Yuan 2017)',
  { filterPercentage: 0.5 },
  ({ filterPercentage }) => {
    if (!(filterPercentage > 0 && filterPercentage <= 1))
      throw new UserError(`miner hdc: filterPercentage must be in (0, 1], got ${filterPercentage}`);
    return (distances, positive, negative) => ({
      positive: hardestShare(distances, positive, filterPercentage, true),
      negative: hardestShare(distances, negative, filterPercentage, false),
    });
  },
);

export interface UniformHistogramOptions {
  /** Bins of the similarity histogram pairs are drawn from. */
  readonly bins: number;
  /** Positive pairs drawn from each bin. */
  readonly positivesPerBin: number;
  /** Negative pairs drawn from each bin. */
  readonly negativesPerBin: number;
  /** Seed of the random draw within each bin. */
  readonly seed: number;
}

/**
 * pytorch-metric-learning 2.x UniformHistogramMiner(num_bins=100, pos_per_bin=10, neg_per_bin=10):
 * the pairs' distances binned into `bins` equal bins between their minimum and maximum, and up to
 * k pairs drawn at random from every bin, so every distance range is represented. Positive and
 * negative pairs are binned separately. Seeded (`seed`, advanced on every call).
 */
export const uniformHistogram = pairMiner<UniformHistogramOptions>(
  'uniform-histogram',
  'up to k positive and k negative pairs drawn at random from each of `bins` equal distance bins',
  { bins: 100, positivesPerBin: 10, negativesPerBin: 10, seed: 7 },
  ({ bins, positivesPerBin, negativesPerBin, seed }) => {
    if (!Number.isInteger(bins) || bins < 1)
      throw new UserError(`miner uniform-histogram: bins must be a whole number ≥ 1, got ${bins}`);
    const random = new Random(seed);
    const draw = (values: Float32Array, mask: Float32Array, perBin: number, shape: [number, number]): tf.Tensor2D => {
      const members = [...mask.keys()].filter((i) => mask[i]! > 0);
      const out = new Float32Array(mask.length);
      if (members.length) {
        const [low, high] = members.reduce(
          ([lo, hi], i) => [Math.min(lo, values[i]!), Math.max(hi, values[i]!)],
          [Infinity, -Infinity],
        );
        const width = (high - low) / bins || 1;
        const byBin = new Map<number, number[]>();
        for (const i of members) {
          const bin = Math.min(bins - 1, Math.floor((values[i]! - low) / width));
          byBin.set(bin, [...(byBin.get(bin) ?? []), i]);
        }
        for (const entries of byBin.values()) for (const i of random.shuffle(entries).slice(0, perBin)) out[i] = 1;
      }
      return tf.tensor2d(out, shape);
    };
    return (distances, positive, negative) => {
      const shape = distances.shape;
      const values = distances.dataSync() as Float32Array;
      return {
        positive: draw(values, positive.dataSync() as Float32Array, positivesPerBin, shape),
        negative: draw(values, negative.dataSync() as Float32Array, negativesPerBin, shape),
      };
    };
  },
);
