import * as tf from '@tensorflow/tfjs';
import type { EmbeddingLoss, LossFactory, Trainable } from '../contracts/loss.js';
import type { Registration } from '../contracts/registration.js';
import { createDistance, type Distance, type DistanceOption } from './distances.js';
import { PARAMETER_FREE } from './pairwise.js';
import { createReducer, type Reducer, type ReducerOption } from './reducers.js';
import { createRegularizer, type Regularizer, type RegularizerOption } from './regularizers.js';

/**
 * The three options every embedding loss takes, as in pytorch-metric-learning's BaseMetricLossFunction:
 * a distance, a reducer and an embedding regulariser, each a registry name or an option object
 * (`distance: l2`, `distance: { name: l2, normalize: false }`, `reducer: { name: threshold, low: 0.1 }`,
 * `regularizer: { name: lp, weight: 0.01 }`). A loss lists its own defaults for them.
 */
export interface LossPartOptions {
  /** How embeddings are compared: `cosine`, `dot`, `l2`, `squared-l2`, `snr`, or `{ name, …options }`. */
  readonly distance: DistanceOption;
  /** Reduction of the per-element losses: `mean`, `mean-non-zero`, `sum`, `threshold`, `per-anchor`, `{ name, … }`. */
  readonly reducer: ReducerOption;
  /** A penalty on the embeddings added to the loss (`lp`, or `{ name: lp, …options }`), or null for none. */
  readonly regularizer: RegularizerOption;
}

export interface LossParts {
  readonly distance: Distance;
  readonly reducer: Reducer;
  readonly regularizer: Regularizer | null;
}

/** The distance, reducer and regulariser of a loss from its complete options. */
export function lossParts(loss: string, options: LossPartOptions): LossParts {
  return {
    distance: createDistance(options.distance, loss),
    reducer: createReducer(options.reducer, loss),
    regularizer: createRegularizer(options.regularizer, loss),
  };
}

/** `value` plus the regulariser's penalty on `embeddings` (`value` itself without a regulariser). */
export function regularized(parts: LossParts, value: tf.Scalar, embeddings: tf.Tensor2D): tf.Scalar {
  const { regularizer } = parts;
  return regularizer ? tf.tidy(() => value.add(regularizer.penalty(embeddings)) as tf.Scalar) : value;
}

/**
 * An embedding loss from its label-based term: the value is `compute(embeddings, labels)` plus the
 * regulariser's penalty on the same embeddings. `trainable` is the loss's own state (learnable
 * margins, proxies); parameter-free by default.
 */
export function embeddingLoss(
  parts: LossParts,
  compute: (embeddings: tf.Tensor2D, labels: tf.Tensor1D) => tf.Scalar,
  trainable: Trainable = PARAMETER_FREE,
): EmbeddingLoss {
  return {
    input: 'embeddings',
    variables: () => trainable.variables(),
    getWeights: () => trainable.getWeights(),
    setWeights: (weights) => trainable.setWeights(weights),
    ...(trainable.onStep ? { onStep: (progress) => trainable.onStep!(progress) } : {}),
    dispose: () => trainable.dispose(),
    compute: (embeddings, labels) => tf.tidy(() => regularized(parts, compute(embeddings, labels), embeddings)),
  };
}

/**
 * A loss registration whose `create` takes its complete options: `Registry.create` has merged them
 * over `defaults` and refused any other, so a loss neither merges nor checks them again.
 */
export function defineLoss<Options extends object>(
  registration: Omit<Registration<LossFactory, Options>, 'create'> & { create(options: Options): LossFactory },
): Registration<LossFactory, Options> {
  return registration;
}
