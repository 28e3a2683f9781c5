import * as tf from '@tensorflow/tfjs';
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

export type ReducerSpec =
  | { readonly name: 'mean' | 'mean-non-zero' | 'sum' }
  | { readonly name: 'threshold'; readonly low?: number; readonly high?: number }
  | { readonly name: 'per-anchor'; readonly nonZero?: boolean };

/** What a loss's `reducer` option takes: a name, or a name with options. */
export type ReducerOption = ReducerName | ReducerSpec;

export interface Reducer {
  readonly name: ReducerName;
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

const OPTIONS: Record<ReducerName, readonly string[]> = {
  mean: [],
  'mean-non-zero': [],
  sum: [],
  threshold: ['low', 'high'],
  'per-anchor': ['nonZero'],
};

export const REDUCER_NAMES = Object.keys(OPTIONS) as ReducerName[];

/** The reducer a `reducer` option names; an unknown name or option is an error naming the known ones. */
export function createReducer(option: ReducerOption, owner = 'reducer'): Reducer {
  const spec = (typeof option === 'string' ? { name: option } : option) as ReducerSpec & {
    low?: number;
    high?: number;
    nonZero?: boolean;
  };
  const known = OPTIONS[spec.name];
  if (!known) throw new UserError(`${owner}: unknown reducer "${spec.name}"`, `known: ${REDUCER_NAMES.join(', ')}`);
  const unknown = Object.keys(spec).filter((key) => key !== 'name' && !known.includes(key));
  if (unknown.length)
    throw new UserError(
      `${owner}: unknown option "${unknown[0]}" of reducer ${spec.name}`,
      `known: ${['name', ...known].join(', ')}`,
    );
  switch (spec.name) {
    case 'mean':
      return { name: 'mean', weights: (_values, mask) => mask.clone(), divisor: atLeastOne };
    case 'sum':
      return { name: 'sum', weights: (_values, mask) => mask.clone(), divisor: () => tf.scalar(1) };
    case 'mean-non-zero':
      return {
        name: 'mean-non-zero',
        weights: (values, mask) => tf.tidy(() => positive(values).mul(mask)),
        divisor: atLeastOne,
      };
    case 'threshold': {
      const low = spec.low ?? 0;
      const high = spec.high ?? Infinity;
      return {
        name: 'threshold',
        weights: (values, mask) =>
          tf.tidy(() => {
            const above = tf.step(values.sub(low + 1e-12));
            return Number.isFinite(high)
              ? above.mul(tf.step(tf.scalar(high - 1e-12).sub(values))).mul(mask)
              : above.mul(mask);
          }),
        divisor: atLeastOne,
      };
    }
    case 'per-anchor': {
      const nonZero = spec.nonZero ?? false;
      return {
        name: 'per-anchor',
        weights: (values, mask) =>
          tf.tidy(() => {
            const counted = nonZero ? positive(values).mul(mask) : mask;
            const axes = [...Array(counted.rank).keys()].slice(1);
            return counted.div(counted.sum(axes, true).maximum(1));
          }),
        divisor: atLeastOne,
      };
    }
  }
}

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
