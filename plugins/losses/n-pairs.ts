import * as tf from '@tensorflow/tfjs';
import { defineLoss, embeddingLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { noMiner } from '../../core/losses/pairwise.js';
import { reduce } from '../../core/losses/reducers.js';
import { crossEntropyPerRow } from './class-weights.js';

export type NPairsOptions = LossPartOptions;

export const N_PAIRS_DEFAULTS: NPairsOptions = { distance: 'dot', reducer: 'mean', regularizer: null };

/** One (anchor, positive) per label that has two rows: its first two rows in batch order. */
function firstPairs(labels: ArrayLike<number>): { anchors: number[]; positives: number[] } {
  const first = new Map<number, number>();
  const pairs = new Map<number, [number, number]>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    const seen = first.get(label);
    if (seen === undefined) first.set(label, i);
    else if (!pairs.has(label)) pairs.set(label, [seen, i]);
  }
  const ordered = [...pairs.entries()].sort(([a], [b]) => a - b).map(([, pair]) => pair);
  return { anchors: ordered.map(([a]) => a), positives: ordered.map(([, p]) => p) };
}

/**
 * Multi-class N-pair loss (Sohn 2016): one positive pair per label (its first two rows); each
 * anchor's positive is its class, the other pairs' positives its negatives:
 *   −log softmax_k(s(a_i, p_k))[k = i]
 * with s the similarity (dot products of unit rows by default; −d for a distance), reduced over
 * the pairs (by default averaged). A batch without a label seen twice gives 0.
 */
export const nPairs = defineLoss<NPairsOptions>({
  name: 'n-pairs',
  description: 'N-pair loss (Sohn 2016): one pair per label, softmax of each anchor over all pairs’ positives',
  defaults: N_PAIRS_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('n-pairs', o, components);
    return ({ miner }) => {
      noMiner(miner, 'n-pairs');
      return embeddingLoss(parts, (embeddings, labels) =>
        tf.tidy(() => {
          const { anchors, positives } = firstPairs(labels.dataSync());
          if (!anchors.length) return embeddings.sum().mul(0) as tf.Scalar;
          const logits = parts.distance.similarities(tf.gather(embeddings, anchors), tf.gather(embeddings, positives));
          const perPair = crossEntropyPerRow(logits, tf.range(0, anchors.length, 1, 'int32'));
          return reduce(parts.reducer, perPair, tf.onesLike(perPair));
        }),
      );
    };
  },
});
