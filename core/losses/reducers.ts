import * as tf from '@tensorflow/tfjs';
import type { Registration } from '../contracts/registration.js';
import { UserError } from '../errors.js';

/**
 * How a loss turns its per-term values into one number, TF-Similarity style: the terms are a
 * full tensor (B×B pairs, c×B×B triplets; the first axis is always the anchor) with a float mask
 * of the terms that exist (label masks, a miner's selection). A reducer gives each term a weight
 * (computed from the values outside the gradient) and a divisor of the summed weights:
 *
 *   loss = Σ values·weights / divisor(Σ weights)
 *
 * which adds up over chunks of anchors, so a chunked loss (triplets) reduces exactly like a whole one.
 * A mask entry may be a multiplicity rather than 0/1 (a pair counted once per triplet it is in).
 *
 *   mean            weights = mask                         divisor = max(Σ, 1)      PML MeanReducer
 *   mean-non-zero   weights = mask where value > 0         divisor = max(Σ, 1)      PML AvgNonZeroReducer
 *   sum             weights = mask                         divisor = 1              PML SumReducer
 *   threshold       weights = mask where low < value < high, divisor = max(Σ, 1)    PML ThresholdReducer
 *   per-anchor      weights = mask / (terms of the anchor) divisor = max(Σ, 1)      PML PerAnchorReducer
 *                   (each anchor's terms averaged, then the anchors that have terms averaged;
 *                   `nonZero: true` counts only the anchor's terms with a value > 0)
 */
export type ReducerName = 'mean' | 'mean-non-zero' | 'sum' | 'threshold' | 'per-anchor';

export interface ThresholdReducerOptions {
  /** Terms at or below this value get weight 0. */
  readonly low: number;
  /** Terms at or above this value get weight 0; null for no upper bound. */
  readonly high: number | null;
}

export interface PerAnchorReducerOptions {
  /** Count only the anchor's terms with a value > 0. */
  readonly nonZero: boolean;
}

/** A reducer by name with its options; a plugin registers more under TOKENS.Reducer. */
export interface ReducerSpec {
  readonly name: string;
  readonly [option: string]: unknown;
}

/** What a loss's `reducer` option takes: a registered reducer's name, or a name with options. */
export type ReducerOption = ReducerName | ReducerSpec;

export interface Reducer {
  readonly name: string;
  /** Weight of each term (same shape as `values`); outside the gradient. */
  weights(values: tf.Tensor, mask: tf.Tensor): tf.Tensor;
  /** What the weighted sum is divided by, given the sum of all weights. */
  divisor(totalWeight: tf.Scalar): tf.Scalar;
}

/** 1 where value > 0 (zero gradient: a selection, not a function of the values). */
function positive(values: tf.Tensor): tf.Tensor {
  return tf.step(values.sub(1e-12));
}

const atLeastOne = (total: tf.Scalar) => total.maximum(1) as tf.Scalar;

/** A reducer without options. */
function plainReducer(
  name: string,
  description: string,
  weights: Reducer['weights'],
  divisor: Reducer['divisor'],
): Registration<Reducer, Record<string, never>> {
  return { name, description, defaults: {}, create: () => ({ name, weights, divisor }) };
}

const threshold: Registration<Reducer, ThresholdReducerOptions> = {
  name: 'threshold',
  description: 'the mean of the terms strictly between low and high (PML ThresholdReducer)',
  defaults: { low: 0, high: null },
  ranges: { low: {}, high: { optional: true } },
  create: ({ low, high }: ThresholdReducerOptions) => ({
    name: 'threshold',
    weights: (values, mask) =>
      tf.tidy(() => {
        const above = tf.step(values.sub(low + 1e-12));
        return high === null ? above.mul(mask) : above.mul(tf.step(tf.scalar(high - 1e-12).sub(values))).mul(mask);
      }),
    divisor: atLeastOne,
  }),
};

const perAnchor: Registration<Reducer, PerAnchorReducerOptions> = {
  name: 'per-anchor',
  description: "each anchor's terms averaged, then the anchors that have terms averaged (PML PerAnchorReducer)",
  defaults: { nonZero: false },
  create: ({ nonZero }: PerAnchorReducerOptions) => ({
    name: 'per-anchor',
    weights: (values, mask) =>
      tf.tidy(() => {
        const counted = nonZero ? positive(values).mul(mask) : mask;
        const axes = [...Array(counted.rank).keys()].slice(1);
        return counted.div(counted.sum(axes, true).maximum(1));
      }),
    divisor: atLeastOne,
  }),
};

/** The built-in reducers (plugins/loss-parts registers them). */
export const REDUCERS: readonly Registration<Reducer, object>[] = [
  plainReducer('mean', 'the mean of the terms (PML MeanReducer)', (_values, mask) => mask.clone(), atLeastOne),
  plainReducer(
    'mean-non-zero',
    'the mean of the terms with a value > 0 (PML AvgNonZeroReducer)',
    (values, mask) => tf.tidy(() => positive(values).mul(mask)),
    atLeastOne,
  ),
  plainReducer(
    'sum',
    'the sum of the terms (PML SumReducer)',
    (_values, mask) => mask.clone(),
    () => tf.scalar(1),
  ),
  threshold,
  perAnchor,
];

export const REDUCER_NAMES = REDUCERS.map((reducer) => reducer.name) as ReducerName[];

/** Σ values·weights / divisor over a whole tensor of terms (0, still connected to the graph, when no term counts). */
export function reduce(reducer: Reducer, values: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const weights = reducer.weights(values, mask);
    return values
      .mul(weights)
      .sum()
      .div(reducer.divisor(weights.sum() as tf.Scalar)) as tf.Scalar;
  });
}

/**
 * Which rows of a per-anchor loss are terms of its reduction: `with-pairs`, only the anchors that have the pairs the
 * loss needs; `all`, every row of the batch, a row without them counting with its empty sums taken as 0
 * (pytorch-metric-learning's element reduction over every row, where a class with one member in the batch, or an
 * anchor a miner left without pairs, adds a term and moves the divisor).
 */
export type ReducedRows = 'with-pairs' | 'all';

const REDUCED_ROWS: readonly ReducedRows[] = ['with-pairs', 'all'];

/**
 * The row mask that `rows` asks for, given the rows that have pairs and the rows that are anchors; an unknown value is
 * an error.
 */
export function reducedRows(
  rows: ReducedRows,
  rowMasks: { readonly withPairs: tf.Tensor1D; readonly anchors: tf.Tensor1D },
  owner: string,
): tf.Tensor1D {
  if (!REDUCED_ROWS.includes(rows))
    throw new UserError(`${owner}: unknown rows "${String(rows)}"`, `known: ${REDUCED_ROWS.join(', ')}`);
  return rows === 'all' ? rowMasks.anchors : rowMasks.withPairs;
}
