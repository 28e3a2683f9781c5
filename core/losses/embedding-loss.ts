import * as tf from '@tensorflow/tfjs';
import type { EmbeddingLoss, LossFactory, Trainable } from '../contracts/loss.js';
import type { Components, Registration } from '../contracts/registration.js';
import type { ComponentKind } from '../contracts/component-tokens.js';
import { UserError } from '../errors.js';
import type { Distance, DistanceOption } from './distances.js';
import { PARAMETER_FREE } from './pairwise.js';
import type { Reducer, ReducerOption } from './reducers.js';
import type { Regularizer, RegularizerOption } from './regularizers.js';

/**
 * The three options every embedding loss takes, as in pytorch-metric-learning's BaseMetricLossFunction:
 * a distance, a reducer and an embedding regulariser, each a registry name or an option object
 * (`distance: l2`, `distance: { name: l2, normalize: false }`, `reducer: { name: threshold, low: 0.1 }`,
 * `regularizer: { name: lp, weight: 0.01 }`). A loss lists its own defaults for them. The names are those registered
 * under TOKENS.Distance, Reducer and Regularizer (`simkit list distances`), a plugin's included.
 */
export interface LossPartOptions {
  /** How embeddings are compared: a distance's name (`cosine`, `dot`, `l2`, `squared-l2`, `snr`), or `{ name, … }`. */
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

/**
 * The part a loss's option names (`l2`, `{ name: l2, normalize: false }`), built by the registry of its kind (so a
 * plugin's distance, reducer or regulariser is found by name); an unknown name or option is an error naming the loss.
 */
function namedPart<T>(
  components: Components,
  kind: ComponentKind,
  option: string | { readonly name: string },
  loss: string,
): T {
  const { name, ...options } = typeof option === 'string' ? { name: option } : option;
  try {
    return components.create<T>(kind, name, options);
  } catch (error) {
    if (error instanceof UserError) throw new UserError(`${loss}: ${error.message}`, error.hint, error.exitCode);
    throw error;
  }
}

/**
 * The distance, reducer and regulariser of a loss from its complete options, through the registries the loss's
 * registration was created by.
 */
export function lossParts(loss: string, options: LossPartOptions, components: Components | undefined): LossParts {
  if (!components)
    throw new UserError(
      `${loss}: its distance, reducer and regularizer are found through the container`,
      "build the loss with app.registry('Loss').create(name, options)",
    );
  return {
    distance: namedPart<Distance>(components, 'Distance', options.distance, loss),
    reducer: namedPart<Reducer>(components, 'Reducer', options.reducer, loss),
    regularizer:
      options.regularizer === null
        ? null
        : namedPart<Regularizer>(components, 'Regularizer', options.regularizer, loss),
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
 * over `defaults` and refused any other, so a loss neither merges nor checks them again. Its second
 * argument finds the distance, reducer and regulariser the options name (`lossParts`).
 */
export function defineLoss<Options extends object>(
  registration: Omit<Registration<LossFactory, Options>, 'create'> & {
    create(options: Options, components?: Components): LossFactory;
  },
): Registration<LossFactory, Options> {
  return registration;
}
