import * as tf from '@tensorflow/tfjs';
import type { Registration } from '../contracts/registration.js';

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

export interface LpRegularizerOptions {
  /** The norm's p (2: Euclidean). */
  readonly p: number;
  /** The power the norm is raised to. */
  readonly power: number;
  /** What the penalty is multiplied by (PML's embedding_reg_weight). */
  readonly weight: number;
}

/** A regulariser by name with its options; a plugin registers more under TOKENS.Regularizer. */
export interface RegularizerSpec {
  readonly name: string;
  readonly [option: string]: unknown;
}

/** What a loss's `regularizer` option takes: a registered regulariser's name, a name with options, or null for none. */
export type RegularizerOption = RegularizerName | RegularizerSpec | null;

export interface Regularizer {
  readonly name: string;
  /** weight · R(embeddings), a scalar. */
  penalty(embeddings: tf.Tensor2D): tf.Scalar;
}

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

const lp: Registration<Regularizer, LpRegularizerOptions> = {
  name: 'lp',
  description: 'weight · the mean over rows of ‖x‖_p^power (PML LpRegularizer)',
  defaults: { p: 2, power: 1, weight: 1 },
  ranges: { p: { above: 0 }, power: {}, weight: {} },
  create: ({ p, power, weight }: LpRegularizerOptions) => ({
    name: 'lp',
    penalty: (embeddings) => tf.tidy(() => rowNorms(embeddings, p).pow(power).mean().mul(weight) as tf.Scalar),
  }),
};

/** The built-in regularisers (plugins/loss-parts registers them). */
export const REGULARIZERS: readonly Registration<Regularizer, LpRegularizerOptions>[] = [lp];

export const REGULARIZER_NAMES = REGULARIZERS.map((regularizer) => regularizer.name) as RegularizerName[];
