import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../core/errors.js';
import { defineLoss, embeddingLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { detached, labelMasks, minerOfKind, noMiner, outsideTape } from '../../core/losses/pairwise.js';
import { reduce } from '../../core/losses/reducers.js';
import { TRIPLET_DEFAULTS, forEachTripletChunk } from './triplet.js';

export interface MarginLossOptions extends LossPartOptions {
  /** Margin between positive and negative distances around the boundary β. */
  readonly alpha: number;
  /** The boundary β between positive and negative distances at the start (learnt per class with `learnBeta`). */
  readonly initialBeta: number;
  /** Train β (one per class); false keeps it at `initialBeta` (pytorch-metric-learning's learn_beta=False). */
  readonly learnBeta: boolean;
  /**
   * `pairs`: every positive and (distance-weighted) negative pair once; `triplets`: PML's
   * MarginLoss, the positive and the negative term of every triplet (or of those a triplet miner
   * selects).
   */
  readonly form: 'pairs' | 'triplets';
  /** Distances below this count as the cutoff when weighting negatives (avoids huge weights; pairs form). */
  readonly cutoff: number;
  /** Most entries of one chunk of triplets (triplets form), as the triplet loss's option. */
  readonly chunkEntries: number;
}

export const MARGIN_DEFAULTS: MarginLossOptions = {
  alpha: 0.2,
  initialBeta: 1.2,
  learnBeta: true,
  form: 'pairs',
  cutoff: 0.5,
  chunkEntries: TRIPLET_DEFAULTS.chunkEntries,
  distance: 'l2',
  reducer: 'mean-non-zero',
  regularizer: null,
};

const FORMS = ['pairs', 'triplets'];

/**
 * Log of the inverse density of pairwise distances between random points on the unit sphere in
 * n dimensions, q(d) ∝ d^(n−2)·(1 − d²/4)^((n−3)/2): negatives weighted by 1/q(d) are spread
 * evenly over distances (Wu et al. 2017's distance-weighted sampling, taken in expectation).
 */
function logInverseDensity(d: tf.Tensor, n: number, cutoff: number): tf.Tensor {
  return tf.tidy(() => {
    const clipped = d.clipByValue(cutoff, 1.99);
    return clipped
      .log()
      .mul(-(n - 2))
      .sub(
        tf
          .scalar(1)
          .sub(clipped.square().div(4))
          .log()
          .mul((n - 3) / 2),
      );
  });
}

/**
 * Margin loss (Wu et al. 2017): relu(α + y·(d − β_c)) with a learnable boundary β per class
 * (class of the anchor), y = +1 for positives and −1 for negatives. Pairs form: every pair once,
 * negatives carrying distance-weighted sampling weights (normalised per anchor, computed outside
 * the gradient). Triplets form (pytorch-metric-learning 2.x MarginLoss): per selected triplet
 * relu(d_ap − β + α) + relu(β − d_an + α); a pair's term is counted once per triplet it is in,
 * through B×B multiplicities summed chunk by chunk (no B³ tensor on the tape).
 * The terms are reduced over all pairs (by default: divided by the number of pairs with non-zero
 * loss). The weights assume L2 distances of unit rows.
 */
export const marginLoss = defineLoss<MarginLossOptions>({
  name: 'margin',
  description:
    "margin loss (Wu 2017): learnable per-class β, margin α; pairs with distance-weighted negatives, or PML's triplets form",
  defaults: MARGIN_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('margin', o, components);
    if (!FORMS.includes(o.form)) throw new UserError(`margin: unknown form "${o.form}"`, `known: ${FORMS.join(', ')}`);
    return ({ numClasses, embeddingDim, miner }) => {
      if (numClasses < 1) throw new UserError('the margin loss needs the number of classes');
      const tripletMiner =
        o.form === 'triplets'
          ? minerOfKind(miner, 'triplet', 'margin (triplets form)')
          : noMiner(miner, 'margin (pairs form)');
      const beta = tf.variable(tf.fill([numClasses], o.initialBeta), o.learnBeta);
      const trainable = {
        variables: () => (o.learnBeta ? [beta] : []),
        getWeights: () => ({ beta }),
        setWeights: (weights: tf.NamedTensorMap) => {
          if (!weights.beta || weights.beta.size !== numClasses)
            throw new UserError(`margin loss: expected beta of ${numClasses} values`);
          beta.assign(weights.beta);
        },
        dispose: () => beta.dispose(),
      };
      return embeddingLoss(
        parts,
        (embeddings, labels) =>
          tf.tidy(() => {
            const d = parts.distance.distances(embeddings);
            const { positive, negative } = labelMasks(labels);
            const anchorBeta = tf.gather(beta, labels.toInt()).reshape([-1, 1]);
            if (o.form === 'triplets') {
              // How many selected triplets each positive pair (i, j) and each negative pair (i, k) is in.
              const multiplicity = outsideTape(d, (distances) => {
                const counts = forEachTripletChunk(
                  distances as tf.Tensor2D,
                  positive,
                  negative,
                  { margin: o.alpha, chunkEntries: o.chunkEntries, dim: embeddingDim },
                  tripletMiner,
                  ({ selected }) => tf.concat([selected.sum(2), selected.sum(1)], 1),
                );
                return tf.concat(counts, 0);
              });
              const terms = tf.concat(
                [tf.relu(d.sub(anchorBeta).add(o.alpha)), tf.relu(anchorBeta.sub(d).add(o.alpha))],
                1,
              );
              return reduce(parts.reducer, terms, multiplicity);
            }
            const logWeight = logInverseDensity(detached(d), embeddingDim, o.cutoff)
              .mul(negative)
              .sub(tf.scalar(1).sub(negative).mul(1e9));
            const weights = detached(tf.softmax(logWeight, 1).mul(negative.sum(1, true)).mul(negative));
            const positiveLoss = tf.relu(d.sub(anchorBeta).add(o.alpha)).mul(positive);
            const negativeLoss = tf.relu(anchorBeta.sub(d).add(o.alpha)).mul(weights);
            return reduce(parts.reducer, positiveLoss.add(negativeLoss), positive.add(negative));
          }),
        trainable,
      );
    };
  },
});
