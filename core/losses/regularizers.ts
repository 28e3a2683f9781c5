import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';

/**
 * Embedding regularisers, added to a loss as weight · R(embeddings) on the embeddings the loss
 * receives (before its distance normalises them).
 *
 *   lp   mean over rows of ‖x‖_p^power (pytorch-metric-learning 2.x LpRegularizer, p = 2, power = 1;
 *        its weight is PML's `embedding_reg_weight`, default 1)
 *
 * The training loop's model emits unit rows, so there ‖x‖₂ is 1 and the L2 regulariser is a
 * constant; it matters for models or plugins that hand the loss unnormalised embeddings.
 */
export type RegularizerName = 'lp';

export interface RegularizerSpec {
  readonly name: RegularizerName;
  readonly p?: number;
  readonly power?: number;
  readonly weight?: number;
}

/** What a loss's `regularizer` option takes: a name, a name with options, or null for none. */
export type RegularizerOption = RegularizerName | RegularizerSpec | null;

export interface Regularizer {
  readonly name: RegularizerName;
  /** weight · R(embeddings), a scalar. */
  penalty(embeddings: tf.Tensor2D): tf.Scalar;
}

export const REGULARIZER_NAMES: RegularizerName[] = ['lp'];

/** ‖x‖_p per row; the ε under the root keeps the gradient finite at a zero row. */
function rowNorms(x: tf.Tensor2D, p: number): tf.Tensor1D {
  return tf.tidy(
    () =>
      (p === 2
        ? x.square().sum(1).add(1e-12).sqrt()
        : x
            .abs()
            .add(1e-12)
            .pow(p)
            .sum(1)
            .pow(1 / p)) as tf.Tensor1D,
  );
}

/**
 * The regulariser a `regularizer` option names (null for none); unknown names or options are errors naming the known
 * ones.
 */
export function createRegularizer(option: RegularizerOption, owner = 'regularizer'): Regularizer | null {
  if (option === null) return null;
  const spec: RegularizerSpec = typeof option === 'string' ? { name: option } : option;
  if (spec.name !== 'lp')
    throw new UserError(
      `${owner}: unknown regularizer "${spec.name}"`,
      `known: ${REGULARIZER_NAMES.join(', ')} (or null for none)`,
    );
  const unknown = Object.keys(spec).filter((key) => !['name', 'p', 'power', 'weight'].includes(key));
  if (unknown.length)
    throw new UserError(`${owner}: unknown option "${unknown[0]}" of regularizer lp`, 'known: name, p, power, weight');
  const { p = 2, power = 1, weight = 1 } = spec;
  if (!(p > 0)) throw new UserError(`${owner}: regularizer lp needs p > 0, got ${p}`);
  return {
    name: 'lp',
    penalty: (embeddings) => tf.tidy(() => rowNorms(embeddings, p).pow(power).mean().mul(weight) as tf.Scalar),
  };
}
