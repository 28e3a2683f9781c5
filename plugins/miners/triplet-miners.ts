import * as tf from '@tensorflow/tfjs';
import type { TripletChunk, TripletMiner } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';
import { minerRegistration } from './registration.js';

/**
 * Triplet miners select c×B×B masks (a subset of `chunk.valid`) from the detached distances of a
 * chunk of anchors; every selection is a tensor op on the chunk, so memory stays c×B×B.
 */

/** The valid triplets where `condition` (a 0/1 tensor from the detached distances) holds. */
function where(chunk: TripletChunk, condition: (ap: tf.Tensor3D, an: tf.Tensor3D) => tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => chunk.valid.mul(condition(chunk.ap, chunk.an)) as tf.Tensor3D);
}

function tripletMiner<O extends object>(
  name: string,
  description: string,
  defaults: O,
  build: (options: O) => (chunk: TripletChunk) => tf.Tensor3D,
): Registration<TripletMiner, O> {
  return minerRegistration<TripletMiner, O>('triplet', name, description, defaults, build);
}

function oneOf<T extends string>(miner: string, option: string, value: T, known: readonly T[]): T {
  if (!known.includes(value))
    throw new UserError(`miner ${miner}: unknown ${option} "${value}"`, `known: ${known.join(', ')}`);
  return value;
}

const noOptions = {};
export const allTriplets = tripletMiner(
  'all-triplets',
  'every valid triplet',
  noOptions,
  () => (chunk) => chunk.valid.clone(),
);
export const hardTriplets = tripletMiner(
  'hard',
  'triplets whose negative is closer than the positive (d_an < d_ap)',
  noOptions,
  () => (chunk) => where(chunk, (ap, an) => tf.step(ap.sub(an))),
);
export const semiHardTriplets = tripletMiner(
  'semi-hard',
  "triplets with d_ap < d_an < d_ap + the loss's margin",
  noOptions,
  () => (chunk) => where(chunk, (ap, an) => tf.step(an.sub(ap)).mul(tf.step(ap.add(chunk.margin).sub(an)))),
);
export const easyTriplets = tripletMiner(
  'easy',
  "triplets already satisfied by the loss's margin (d_an > d_ap + margin)",
  noOptions,
  () => (chunk) => where(chunk, (ap, an) => tf.step(an.sub(ap).sub(chunk.margin))),
);

export const TRIPLET_TYPES = ['all', 'hard', 'semi-hard', 'easy'] as const;
export interface TripletMarginMinerOptions {
  /** The miner's own margin, in the loss's distance units. */
  readonly margin: number;
  /** Triplets kept: `all`, `hard` (negative closer than positive), `semi-hard` (farther, within the margin), `easy`. */
  readonly type: (typeof TRIPLET_TYPES)[number];
}

/**
 * pytorch-metric-learning 2.x TripletMarginMiner(margin=0.2, type_of_triplets="all"), on the
 * triplet margin t = d_an − d_ap: all t ≤ m, hard t ≤ 0, semi-hard 0 < t ≤ m, easy t > m.
 */
export const tripletMargin = tripletMiner<TripletMarginMinerOptions>(
  'triplet-margin',
  "triplets by their margin t = d_an − d_ap against the miner's own margin m: type all (t ≤ m), hard (t ≤ 0), semi-hard (0 < t ≤ m), easy (t > m)",
  { margin: 0.2, type: 'all' },
  ({ margin, type }) => {
    oneOf('triplet-margin', 'type', type, TRIPLET_TYPES);
    return (chunk) =>
      where(chunk, (ap, an) => {
        const t = an.sub(ap);
        const atMost = (x: number) => tf.scalar(1).sub(tf.step(t.sub(x + 1e-12)));
        switch (type) {
          case 'all':
            return atMost(margin);
          case 'hard':
            return atMost(0);
          case 'semi-hard':
            return tf.step(t.sub(1e-12)).mul(atMost(margin));
          case 'easy':
            return tf.step(t.sub(margin + 1e-12));
        }
      });
  },
);

/** One-hot c×B of the extreme of `values` over the entries where `mask` is 1 (largest or smallest). */
function extreme(values: tf.Tensor2D, mask: tf.Tensor2D, largest: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const masked = largest
      ? values.mul(mask).sub(tf.scalar(1).sub(mask).mul(1e9))
      : values.mul(mask).add(tf.scalar(1).sub(mask).mul(1e9));
    return tf.oneHot(largest ? masked.argMax(1) : masked.argMin(1), values.shape[1]).toFloat() as tf.Tensor2D;
  });
}

/** For each anchor, its farthest positive with its nearest negative: one triplet per anchor (when both exist). */
export const batchHard = tripletMiner(
  'batch-hard',
  'per anchor the hardest positive and the hardest negative',
  noOptions,
  () => (chunk) => batchTriplet(chunk, 'hard', 'hard'),
);

export const POSITIVE_STRATEGIES = ['easy', 'hard'] as const;
export const NEGATIVE_STRATEGIES = ['easy', 'semi-hard', 'hard'] as const;
export interface BatchEasyHardOptions {
  /** Which positive of each anchor: the `easy` (closest) or the `hard` (farthest) one. */
  readonly positives: (typeof POSITIVE_STRATEGIES)[number];
  /** Which negative of each anchor: the `easy` (farthest), `semi-hard` or `hard` (closest) one. */
  readonly negatives: (typeof NEGATIVE_STRATEGIES)[number];
}

/**
 * One triplet per anchor: its easiest (nearest) or hardest (farthest) positive, with its hardest
 * (nearest) or easiest (farthest) negative, or `semi-hard`: the nearest negative farther than the
 * chosen positive (Xuan et al. 2020; pytorch-metric-learning 2.x BatchEasyHardMiner, default
 * positives EASY, negatives SEMIHARD).
 */
function batchTriplet(
  chunk: TripletChunk,
  positives: BatchEasyHardOptions['positives'],
  negatives: BatchEasyHardOptions['negatives'],
): tf.Tensor3D {
  return tf.tidy(() => {
    const [c, b] = [chunk.valid.shape[0], chunk.valid.shape[1]];
    const positive = chunk.valid.max(2) as tf.Tensor2D;
    const negative = chunk.valid.max(1) as tf.Tensor2D;
    const ap = chunk.ap.reshape([c, b]) as tf.Tensor2D;
    const an = chunk.an.reshape([c, b]) as tf.Tensor2D;
    const j = extreme(ap, positive, positives === 'hard');
    let allowed = negative;
    if (negatives === 'semi-hard') {
      const chosen = ap.mul(j).sum(1, true);
      allowed = negative.mul(tf.step(an.sub(chosen).sub(1e-12))) as tf.Tensor2D;
    }
    const k = extreme(an, allowed, negatives === 'easy').mul(allowed.max(1, true));
    return j
      .reshape([c, b, 1])
      .mul(k.reshape([c, 1, b]))
      .mul(chunk.valid) as tf.Tensor3D;
  });
}

export const batchEasyHard = tripletMiner<BatchEasyHardOptions>(
  'batch-easy-hard',
  'per anchor one triplet: easy or hard positive, hard, semi-hard or easy negative (default easy positive, semi-hard negative)',
  { positives: 'easy', negatives: 'semi-hard' },
  ({ positives, negatives }) => {
    oneOf('batch-easy-hard', 'positives', positives, POSITIVE_STRATEGIES);
    oneOf('batch-easy-hard', 'negatives', negatives, NEGATIVE_STRATEGIES);
    return (chunk) => batchTriplet(chunk, positives, negatives);
  },
);

export interface AngularMinerOptions {
  /** Keep triplets whose angle at the negative exceeds this, in degrees. */
  readonly angleDegrees: number;
}

/**
 * pytorch-metric-learning 2.x AngularMiner(angle=20): triplets whose angle at the negative, in the
 * triangle of x_n and the centre x_c of anchor and positive, exceeds the threshold:
 * tan ∠n = d_ap / (2·‖x_n − x_c‖), with ‖x_n − x_c‖² = (d_an² + d_pn²)/2 − d_ap²/4 (Apollonius).
 * Needs Euclidean distances (`l2`).
 */
export const angularMiner = tripletMiner<AngularMinerOptions>(
  'angular',
  "triplets whose angle at the negative (Wang et al. 2017's angular loss) exceeds angleDegrees (needs the l2 distance)",
  { angleDegrees: 20 },
  ({ angleDegrees }) => {
    const tangent = Math.tan((angleDegrees * Math.PI) / 180);
    return (chunk) =>
      where(chunk, (ap, an) => {
        const pn = chunk.distances.reshape([1, ...chunk.distances.shape]);
        const centre = tf
          .relu(an.square().add(pn.square()).div(2).sub(ap.square().div(4)))
          .add(1e-12)
          .sqrt();
        return tf.step(ap.sub(centre.mul(2 * tangent)).sub(1e-12));
      });
  },
);

export interface DistanceWeightedOptions {
  /** Distances below this count as the cutoff (bounds the weights). */
  readonly cutoff: number;
  /** Negatives at least this far apart are never drawn (they would give zero loss). */
  readonly nonzeroLossCutoff: number;
  /** Seed of the random draw of negatives. */
  readonly seed: number;
}

/**
 * Distance-weighted sampling (Wu et al. 2017; pytorch-metric-learning 2.x
 * DistanceWeightedMiner(cutoff=0.5, nonzero_loss_cutoff=1.4)): for every positive pair (i, j) one
 * negative k drawn with probability ∝ 1/q(d_ik), q(d) ∝ d^(n−2)·(1 − d²/4)^((n−3)/2) the density of
 * distances between random unit vectors in n dimensions, d clipped below at `cutoff`, negatives
 * with d ≥ nonzeroLossCutoff excluded. Needs L2 distances of unit rows. Draws are seeded by
 * `seed` and a call counter (tf.multinomial), so a run is reproducible.
 */
export const distanceWeighted = tripletMiner<DistanceWeightedOptions>(
  'distance-weighted',
  'per positive pair one negative drawn ∝ 1/q(d) (Wu et al. 2017 distance-weighted sampling; needs the l2 distance)',
  { cutoff: 0.5, nonzeroLossCutoff: 1.4, seed: 7 },
  ({ cutoff, nonzeroLossCutoff, seed }) => {
    let calls = 0;
    return (chunk) =>
      tf.tidy(() => {
        const [c, b] = [chunk.valid.shape[0], chunk.valid.shape[1]];
        const n = chunk.dim;
        const d = chunk.an.reshape([c, b]).clipByValue(cutoff, 1.99);
        const logWeight = d
          .log()
          .mul(2 - n)
          .sub(
            tf
              .scalar(1)
              .sub(d.square().div(4))
              .log()
              .mul((n - 3) / 2),
          );
        const eligible = chunk.valid
          .max(1)
          .mul(tf.step(tf.scalar(nonzeroLossCutoff).sub(chunk.an.reshape([c, b])))) as tf.Tensor2D;
        // Per anchor: subtract the max so exp() cannot overflow; ineligible negatives get −1e9.
        const masked = logWeight.mul(eligible).sub(tf.scalar(1).sub(eligible).mul(1e9));
        const logits = masked.sub(masked.max(1, true)) as tf.Tensor2D;
        const draws = tf.multinomial(logits, b, seed + calls++) as tf.Tensor2D;
        const k = tf.oneHot(draws.toInt(), b).toFloat().reshape([c, b, b]);
        return k.mul(eligible.reshape([c, 1, b])).mul(chunk.valid) as tf.Tensor3D;
      });
  },
);
