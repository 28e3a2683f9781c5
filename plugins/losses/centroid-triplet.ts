import * as tf from '@tensorflow/tfjs';
import { defineLoss, embeddingLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { noMiner } from '../../core/losses/pairwise.js';
import { reduce } from '../../core/losses/reducers.js';
import { indicator, labelRanks } from './class-weights.js';

export interface CentroidTripletOptions extends LossPartOptions {
  /** An item must be this much closer to its class centroid than to another class's centroid. */
  readonly margin: number;
}

export const CENTROID_TRIPLET_DEFAULTS: CentroidTripletOptions = {
  margin: 0.05,
  distance: 'squared-l2',
  reducer: 'mean-non-zero',
  regularizer: null,
};

/**
 * Centroid triplet loss (Wieczorek et al. 2021): each row A against the centroid c_P of the other
 * rows of its class (A left out) and the centroid c_N of every other class in the batch:
 *   [d(A, c_P) − d(A, c_N) + m]₊
 * Centroids are means of the embeddings as given; the distance then normalises them like any row.
 * A class with a single row has no c_P, so its row is no anchor (its centroid is still a negative).
 * One term per (anchor, other class), reduced (by default averaged over the non-zero ones).
 */
export const centroidTriplet = defineLoss<CentroidTripletOptions>({
  name: 'centroid-triplet',
  description:
    'centroid triplet (Wieczorek 2021): each row against its class centroid (itself left out) and the other classes’ centroids',
  defaults: CENTROID_TRIPLET_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('centroid-triplet', o, components);
    return ({ miner }) => {
      noMiner(miner, 'centroid-triplet');
      return embeddingLoss(parts, (embeddings, labels) =>
        tf.tidy(() => {
          const { ranks, distinct } = labelRanks(labels.dataSync());
          const membership = indicator(tf.tensor1d(ranks, 'int32'), distinct);
          const sums = tf.matMul(membership, embeddings, true, false);
          const counts = membership.sum(0).reshape([-1, 1]);
          const centroids = sums.div(counts) as tf.Tensor2D;
          const ownCount = tf.matMul(membership, counts).reshape([-1, 1]);
          const positiveCentroids = tf
            .matMul(membership, sums)
            .sub(embeddings)
            .div(ownCount.sub(1).maximum(1)) as tf.Tensor2D;
          const toPositive = parts.distance
            .distances(embeddings, positiveCentroids)
            .mul(tf.eye(ranks.length))
            .sum(1, true);
          const toNegatives = parts.distance.distances(embeddings, centroids);
          const anchors = tf.step(ownCount.sub(1.5));
          return reduce(
            parts.reducer,
            tf.relu(toPositive.sub(toNegatives).add(o.margin)),
            anchors.mul(tf.scalar(1).sub(membership)),
          );
        }),
      );
    };
  },
});
