import * as tf from '@tensorflow/tfjs';
import type { PairLoss } from '../../core/contracts/loss.js';
import { defineLoss } from '../../core/losses/embedding-loss.js';
import { UserError } from '../../core/errors.js';
import { PARAMETER_FREE } from '../../core/losses/pairwise.js';
import { DEFAULT_SEED, deriveSeed } from '../../core/random.js';
import { sigmoidCrossEntropy } from './binary.js';

/**
 * Variables of a dense layer: `{prefix}weight` (in × out, drawn with a seed derived from `seed` and the prefix) and
 * `{prefix}bias` (out).
 */
function denseLayer(prefix: string, inputs: number, outputs: number, seed: number): Record<string, tf.Variable> {
  const layerSeed = deriveSeed(seed, 'pair-classifier', prefix);
  // The tidy disposes the initial values; the variables hold copies.
  return tf.tidy(() => ({
    [`${prefix}weight`]: tf.variable(
      tf.randomNormal([inputs, outputs], 0, 1 / Math.sqrt(inputs), 'float32', layerSeed),
    ),
    [`${prefix}bias`]: tf.variable(tf.zeros([outputs])),
  }));
}

/**
 * A binary classifier over pair features, trained with binary cross-entropy on 0/1 targets: one
 * logit z = features·w + b, or with `hidden` > 0 units z = relu(features·W₁ + b₁)·w + b. A linear
 * classifier on [a ; b] scores u·a + v·b, a sum of separate terms that cannot tell whether a and b
 * match; the hidden layer lets it compare them.
 */
function pairClassifier(
  featureSize: number,
  features: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D,
  { symmetric, hidden }: { symmetric: boolean; hidden: number },
  seed = DEFAULT_SEED,
): PairLoss {
  const variables =
    hidden > 0
      ? { ...denseLayer('hidden', featureSize, hidden, seed), ...denseLayer('', hidden, 1, seed) }
      : denseLayer('', featureSize, 1, seed);
  const layer = (x: tf.Tensor2D, prefix: string) =>
    tf.matMul(x, variables[`${prefix}weight`] as tf.Tensor2D).add(variables[`${prefix}bias`]!) as tf.Tensor2D;
  const logit = (a: tf.Tensor2D, b: tf.Tensor2D) => {
    const x = features(a, b);
    return layer(hidden > 0 ? (tf.relu(layer(x, 'hidden')) as tf.Tensor2D) : x, '');
  };
  const pairLogit = (a: tf.Tensor2D, b: tf.Tensor2D) =>
    symmetric ? (logit(a, b).add(logit(b, a)).div(2) as tf.Tensor2D) : logit(a, b);
  return {
    input: 'pairs',
    variables: () => Object.values(variables),
    getWeights: () => ({ ...variables }),
    setWeights: (weights) => {
      for (const [name, variable] of Object.entries(variables)) {
        const value = weights[name];
        if (!value || value.shape.join() !== variable.shape.join())
          throw new UserError(`pair classifier: expected ${name} of shape ${variable.shape}`);
        variable.assign(value);
      }
    },
    dispose: () => tf.dispose(Object.values(variables)),
    compute: (a, b, targets) =>
      tf.tidy(() => sigmoidCrossEntropy(pairLogit(a, b), targets.reshape([-1, 1]) as tf.Tensor2D).mean()) as tf.Scalar,
    score: (a, b) => tf.tidy(() => tf.sigmoid(pairLogit(a, b)).reshape([-1])) as tf.Tensor1D,
  };
}

function checkedHidden(name: string, hidden: number): number {
  if (!Number.isInteger(hidden) || hidden < 0)
    throw new UserError(`${name}: option "hidden" must be a whole number ≥ 0, got ${hidden}`);
  return hidden;
}

export interface ConcatOptions {
  /** Average the logits of (A, B) and (B, A), making the score symmetric. */
  readonly symmetric: boolean;
  /** ReLU units between the pair features and the logit; 0 = logistic regression on [a ; b]. */
  readonly hidden: number;
}

export const SIAMESE_CONCAT_DEFAULTS: ConcatOptions = { symmetric: false, hidden: 64 };

/**
 * Siamese head on [a ; b] → dense ReLU → logit → sigmoid. NOT symmetric: f(A, B) ≠ f(B, A) in
 * general, since the weights of the two halves differ; `symmetric: true` averages both orders.
 */
export const siameseConcat = defineLoss<ConcatOptions>({
  name: 'siamese-concat',
  description: 'siamese pairs: concatenate embeddings → binary classifier (asymmetric unless symmetric: true)',
  defaults: SIAMESE_CONCAT_DEFAULTS,
  create: (o) => {
    checkedHidden('siamese-concat', o.hidden);
    return ({ embeddingDim, seed }) =>
      pairClassifier(2 * embeddingDim, (a, b) => tf.concat([a, b], 1) as tf.Tensor2D, o, seed);
  },
});

export interface DifferenceOptions {
  /** ReLU units between |a − b| and the logit; 0 = a weighted L1 distance (Koch et al. 2015). */
  readonly hidden: number;
}

/** Siamese head on |a − b| → dense → sigmoid (symmetric by construction). */
export const siameseDifference = defineLoss<DifferenceOptions>({
  name: 'siamese-difference',
  description: 'siamese pairs: |a − b| → binary classifier',
  defaults: { hidden: 0 },
  create: (o) => {
    const hidden = checkedHidden('siamese-difference', o.hidden);
    return ({ embeddingDim, seed }) =>
      pairClassifier(embeddingDim, (a, b) => a.sub(b).abs() as tf.Tensor2D, { symmetric: false, hidden }, seed);
  },
});

/** Siamese regression: cosine similarity of the pair fitted to a real target by mean squared error. */
export const siameseCosine = defineLoss<Record<string, never>>({
  name: 'siamese-cosine',
  description: 'siamese pairs: cosine similarity → regression (MSE) to a real target',
  defaults: {},
  create: () => (): PairLoss => ({
    input: 'pairs',
    ...PARAMETER_FREE,
    compute: (a, b, targets) => tf.tidy(() => a.mul(b).sum(1).sub(targets).square().mean() as tf.Scalar),
    score: (a, b) => tf.tidy(() => a.mul(b).sum(1) as tf.Tensor1D),
  }),
});
