import * as tf from '@tensorflow/tfjs';
import { defineLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { maskedLogSumExp, rowHasAny } from '../../core/losses/log-sum-exp.js';
import { pairLoss } from '../../core/losses/pair-loss.js';
import { reduce, reducedRows, type ReducedRows } from '../../core/losses/reducers.js';

export interface MultiSimilarityOptions extends LossPartOptions {
  /** Weight of the positive pairs. */
  readonly alpha: number;
  /** Weight of the negative pairs. */
  readonly beta: number;
  /** The similarity λ around which pairs are weighted (the paper uses 1). */
  readonly base: number;
  /** `with-pairs`: the anchors with at least one pair are reduced; `all` (PML): every row, one without pairs as 0. */
  readonly rows: ReducedRows;
}

export const MULTI_SIMILARITY_DEFAULTS: MultiSimilarityOptions = {
  alpha: 2,
  beta: 50,
  base: 0.5,
  rows: 'with-pairs',
  distance: 'cosine',
  reducer: 'mean',
  regularizer: null,
};

/**
 * Multi-similarity loss (Wang et al. 2019), per anchor i:
 *   (1/α)·log(1 + Σ_{p ∈ P_i} e^(−α(S_ip − λ))) + (1/β)·log(1 + Σ_{n ∈ N_i} e^(β(S_in − λ)))
 * with S the distance's similarity (for a distance D, S − λ becomes λ − D). The anchors that have
 * at least one pair are reduced (by default averaged). A pair miner (multi-similarity) narrows P and N.
 */
export const multiSimilarity = defineLoss<MultiSimilarityOptions>({
  name: 'multi-similarity',
  description:
    'multi-similarity (Wang 2019): soft-weighted positives (α) and negatives (β) around λ, optional pair miner',
  defaults: MULTI_SIMILARITY_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('multi-similarity', o, components);
    return ({ miner }) =>
      pairLoss('multi-similarity', parts, miner, ({ matrix, positive, negative, anchors }) => {
        const aboveBase = parts.distance.similarity ? matrix().sub(o.base) : tf.scalar(o.base).sub(matrix());
        const positiveTerm = maskedLogSumExp(aboveBase.mul(-o.alpha), positive, true).div(o.alpha);
        const negativeTerm = maskedLogSumExp(aboveBase.mul(o.beta), negative, true).div(o.beta);
        const withPairs = rowHasAny(positive.add(negative) as tf.Tensor2D);
        const rows = reducedRows(o.rows, { withPairs, anchors }, 'multi-similarity');
        return reduce(parts.reducer, positiveTerm.add(negativeTerm), rows);
      });
  },
});
