import * as tf from '@tensorflow/tfjs';
import type { Registration } from '../contracts/registration.js';
import { UserError } from '../errors.js';
import { l2Normalize } from './class-matrix.js';

/**
 * Distances between embeddings, pytorch-metric-learning style: a loss is given one and never
 * assumes how its inputs were scaled. Normalisation is the distance's own `normalize` option
 * (rows scaled to unit L2 length before anything is computed). Its default is true for every
 * distance, as in pytorch-metric-learning 2.x (`BaseDistance(normalize_embeddings=True)`); the
 * training loop's model already emits unit rows, so the default changes nothing there, while a
 * loss called on raw embeddings now gets the same value as in training.
 *
 *   cosine      cos(x, y) = x·y on unit rows (a similarity; always normalised)
 *   dot         x·y (a similarity; cosine when normalised)
 *   l2          ‖x − y‖ = sqrt(max(‖x‖² + ‖y‖² − 2x·y, 0) + 1e-12) (finite gradient where rows coincide)
 *   squared-l2  ‖x − y‖²
 *   snr         var(y − x) / var(x), the signal-to-noise distance of Yuan et al. 2019 (x = the anchor row)
 */
export type DistanceName = 'cosine' | 'dot' | 'l2' | 'squared-l2' | 'snr';

export interface DistanceOptions {
  /** Scale rows to unit length first (default true; cosine cannot be turned off). */
  readonly normalize: boolean;
}

/** A distance by name with its options; a plugin registers more under TOKENS.Distance. */
export interface DistanceSpec extends Partial<DistanceOptions> {
  readonly name: string;
}

/** What a loss's `distance` option takes: a registered distance's name, or a name with options. */
export type DistanceOption = DistanceName | DistanceSpec;

export interface Distance {
  readonly name: string;
  readonly normalize: boolean;
  /** True for similarities (cosine, dot): larger means closer. */
  readonly similarity: boolean;
  /** B×M raw values between the rows of `x` (anchors) and the rows of `y` (`x` when omitted). */
  matrix(x: tf.Tensor2D, y?: tf.Tensor2D): tf.Tensor2D;
  /** Smaller means closer: a similarity s as 1 − s (the cosine distance), a distance as it is. */
  distances(x: tf.Tensor2D, y?: tf.Tensor2D): tf.Tensor2D;
  /** Larger means closer: a distance d as −d, a similarity as it is. */
  similarities(x: tf.Tensor2D, y?: tf.Tensor2D): tf.Tensor2D;
}

/**
 * ‖x_i‖² + ‖y_j‖² − 2 x_i·y_j, floored at 0 (float32 rounding can make it slightly negative). When
 * y is x itself the diagonal is set to exactly 0, where the rounding would otherwise leave ≈1e-7.
 */
function squaredL2(x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const xx = x.square().sum(1, true);
    const yy = y.square().sum(1, true).transpose();
    const squared = tf.relu(xx.add(yy).sub(tf.matMul(x, y, false, true).mul(2))) as tf.Tensor2D;
    return x === y ? (squared.mul(tf.scalar(1).sub(tf.eye(x.shape[0]))) as tf.Tensor2D) : squared;
  });
}

/** var(y_j − x_i) / var(x_i) over the D components, from B×M products only (no B×M×D tensor). */
function signalToNoise(x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const dim = x.shape[1];
    const meanX = x.mean(1, true);
    const meanY = y.mean(1, true).transpose();
    const noise = squaredL2(x, y).div(dim).sub(meanX.sub(meanY).square());
    const signal = x.square().mean(1, true).sub(meanX.square());
    return tf.relu(noise).div(signal.add(1e-12)) as tf.Tensor2D;
  });
}

/**
 * A distance from its raw values between rows (`compute(x, y)`, after the optional normalisation), registered under
 * TOKENS.Distance by `name`; `similarity` says whether larger values mean closer.
 */
export function defineDistance(
  name: string,
  description: string,
  similarity: boolean,
  compute: (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor2D,
): Registration<Distance, DistanceOptions> {
  return {
    name,
    description,
    defaults: { normalize: true },
    create: ({ normalize }: DistanceOptions) => {
      const matrix = (x: tf.Tensor2D, y?: tf.Tensor2D): tf.Tensor2D =>
        tf.tidy(() => {
          const query = normalize ? l2Normalize(x) : x;
          return compute(query, y ? (normalize ? l2Normalize(y) : y) : query);
        });
      return {
        name,
        normalize,
        similarity,
        matrix,
        distances: (x, y) =>
          tf.tidy(() => (similarity ? (tf.scalar(1).sub(matrix(x, y)) as tf.Tensor2D) : matrix(x, y))),
        similarities: (x, y) => tf.tidy(() => (similarity ? matrix(x, y) : (matrix(x, y).neg() as tf.Tensor2D))),
      };
    },
  };
}

const dotProducts = (x: tf.Tensor2D, y: tf.Tensor2D) => tf.matMul(x, y, false, true) as tf.Tensor2D;

const cosine = defineDistance(
  'cosine',
  'cos(x, y) = x·y on unit rows (a similarity; always normalised)',
  true,
  dotProducts,
);

/** The built-in distances (plugins/loss-parts registers them). */
export const DISTANCES: readonly Registration<Distance, DistanceOptions>[] = [
  {
    ...cosine,
    create: (options: DistanceOptions) => {
      if (!options.normalize)
        throw new UserError(
          'the cosine distance always normalises',
          'use distance "dot" for unnormalised dot products',
        );
      return cosine.create(options);
    },
  },
  defineDistance('dot', 'x·y (a similarity; cosine when normalised)', true, dotProducts),
  defineDistance('l2', '‖x − y‖, finite gradient where rows coincide', false, (x, y) =>
    tf.tidy(() => squaredL2(x, y).add(1e-12).sqrt() as tf.Tensor2D),
  ),
  defineDistance('squared-l2', '‖x − y‖²', false, squaredL2),
  defineDistance('snr', 'var(y − x) / var(x), the signal-to-noise distance (Yuan 2019)', false, signalToNoise),
];

export const DISTANCE_NAMES = DISTANCES.map((distance) => distance.name) as DistanceName[];
