import * as tf from '@tensorflow/tfjs';
import { defineLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { maskedLogSumExp, rowHasAny } from '../../core/losses/log-sum-exp.js';
import { pairLoss } from '../../core/losses/pair-loss.js';
import { outsideTape } from '../../core/losses/pairwise.js';
import { reduce, reducedRows, type ReducedRows } from '../../core/losses/reducers.js';

export interface LiftedStructureOptions extends LossPartOptions {
  /** Subtracted from the positive distance. */
  readonly positiveMargin: number;
  /** α in e^(α − D) of the negatives. */
  readonly negativeMargin: number;
}

export const LIFTED_STRUCTURE_DEFAULTS: LiftedStructureOptions = {
  positiveMargin: 0,
  negativeMargin: 1,
  distance: 'l2',
  reducer: 'mean',
  regularizer: null,
};

/**
 * Lifted structured loss (Song et al. 2016), per positive pair (i, j):
 *   J_ij = log( Σ_{k ∈ N(i)} e^(α − D_ik) + Σ_{l ∈ N(j)} e^(α − D_jl) ) + D_ij − m_pos
 * and the loss [J_ij]₊² / 2 over the positive pairs (by default their mean: the paper's
 * 1/(2|P|) Σ). Each row's negatives are summed once (a B vector), so the pairs cost B×B.
 */
export const liftedStructure = defineLoss<LiftedStructureOptions>({
  name: 'lifted-structure',
  description: 'lifted structured loss (Song 2016): each positive pair against the negatives of both its rows',
  defaults: LIFTED_STRUCTURE_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('lifted-structure', o, components);
    return ({ miner }) =>
      pairLoss('lifted-structure', parts, miner, ({ distances, positive, negative }) => {
        const d = distances();
        const hasNegatives = rowHasAny(negative);
        // log Σ_k e^(α − D_ik) per row; −1e30 stands for the empty sum of a row without negatives.
        const rowTerm = maskedLogSumExp(tf.scalar(o.negativeMargin).sub(d) as tf.Tensor2D, negative)
          .mul(hasNegatives)
          .sub(tf.scalar(1).sub(hasNegatives).mul(1e30));
        const [ofI, ofJ] = [rowTerm.reshape([-1, 1]), rowTerm.reshape([1, -1])];
        const larger = outsideTape(ofI, (rows) => tf.maximum(rows, ofJ)); // a constant shift: its gradient cancels
        const both = larger.add(
          tf
            .exp(ofI.sub(larger))
            .add(tf.exp(ofJ.sub(larger)))
            .log(),
        );
        // A pair whose rows both lack negatives has J ≈ −1e30: a hinge of 0 that still counts in |P|, as documented.
        const j = both.add(d).sub(o.positiveMargin);
        return reduce(parts.reducer, tf.relu(j).square().div(2), positive);
      });
  },
});

export interface GeneralizedLiftedStructureOptions extends LiftedStructureOptions {
  /**
   * `with-pairs`: the anchors with positives and negatives are reduced; `all` (PML): every row, an empty sum as 0 (a
   * row without positives adds [log Σ_n e^(m_neg − D_an)]₊).
   */
  readonly rows: ReducedRows;
}

export const GENERALIZED_LIFTED_STRUCTURE_DEFAULTS: GeneralizedLiftedStructureOptions = {
  ...LIFTED_STRUCTURE_DEFAULTS,
  rows: 'with-pairs',
};

/**
 * Generalized lifted structure loss (Hermans et al. 2017), per anchor a with positives and negatives:
 *   [ log Σ_p e^(D_ap − m_pos) + log Σ_n e^(m_neg − D_an) ]₊
 * reduced over those anchors (by default their mean; the paper sums), or over every row (`rows: all`).
 */
export const generalizedLiftedStructure = defineLoss<GeneralizedLiftedStructureOptions>({
  name: 'generalized-lifted-structure',
  description:
    'generalized lifted structure (Hermans 2017): per anchor, soft-max positive distance against soft-min negative distance',
  defaults: GENERALIZED_LIFTED_STRUCTURE_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('generalized-lifted-structure', o, components);
    return ({ miner }) =>
      pairLoss('generalized-lifted-structure', parts, miner, ({ distances, positive, negative, anchors }) => {
        const d = distances();
        const positiveTerm = maskedLogSumExp(d.sub(o.positiveMargin) as tf.Tensor2D, positive);
        const negativeTerm = maskedLogSumExp(tf.scalar(o.negativeMargin).sub(d) as tf.Tensor2D, negative);
        return reduce(
          parts.reducer,
          tf.relu(positiveTerm.add(negativeTerm)),
          reducedRows(
            o.rows,
            { withPairs: rowHasAny(positive).mul(rowHasAny(negative)), anchors },
            'generalized-lifted-structure',
          ),
        );
      });
  },
});
