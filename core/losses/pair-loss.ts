import * as tf from '@tensorflow/tfjs';
import type { EmbeddingLoss, Miner } from '../contracts/loss.js';
import { embeddingLoss, regularized, type LossParts } from './embedding-loss.js';
import { rowHasAny } from './log-sum-exp.js';
import { labelMasks, minerOfKind, pairMasks } from './pairwise.js';

/** The B×B view of a batch a pair loss works on; each matrix is computed once, when first asked for. */
export interface PairBatch {
  /** The rows the loss was given, as given (losses that need the raw lengths, such as PML's angular form). */
  readonly embeddings: tf.Tensor2D;
  /** The distance's own values (similarities or distances). */
  readonly matrix: () => tf.Tensor2D;
  /** Smaller means closer (a similarity s as 1 − s). */
  readonly distances: () => tf.Tensor2D;
  /** Larger means closer (a distance d as −d). */
  readonly similarities: () => tf.Tensor2D;
  /** Same label, i ≠ j (narrowed by the pair miner, when one is given). */
  readonly positive: tf.Tensor2D;
  /** Different label (narrowed by the pair miner). */
  readonly negative: tf.Tensor2D;
  /** 1 for the rows that are anchors: every row, or those with allowed pairs (`computeOnPairs`). */
  readonly anchors: tf.Tensor1D;
}

function once(compute: () => tf.Tensor2D): () => tf.Tensor2D {
  let value: tf.Tensor2D | undefined;
  return () => (value ??= compute());
}

/**
 * A loss over all pairs of the batch (pytorch-metric-learning's GenericPairLoss): `terms` gets
 * the distance matrices and the label masks, narrowed by a pair miner when the configuration
 * has one (a triplet miner is refused), and returns the reduced loss.
 */
export function pairLoss(
  loss: string,
  parts: LossParts,
  miner: Miner | undefined,
  terms: (batch: PairBatch) => tf.Scalar,
): EmbeddingLoss & Required<Pick<EmbeddingLoss, 'computeOnPairs'>> {
  const pairMiner = minerOfKind(miner, 'pair', loss);
  const value = (embeddings: tf.Tensor2D, labels: tf.Tensor1D, allowed?: tf.Tensor2D) =>
    tf.tidy(() => {
      const distances = once(() => parts.distance.distances(embeddings));
      const masks = pairMiner || allowed ? pairMasks(distances(), labels, pairMiner, allowed) : labelMasks(labels);
      return terms({
        embeddings,
        matrix: once(() => parts.distance.matrix(embeddings)),
        distances,
        similarities: once(() => parts.distance.similarities(embeddings)),
        ...masks,
        anchors: allowed ? rowHasAny(allowed) : tf.ones([embeddings.shape[0]]),
      });
    });
  return {
    ...embeddingLoss(parts, (embeddings, labels) => value(embeddings, labels)),
    computeOnPairs: (embeddings, labels, allowed) =>
      tf.tidy(() => regularized(parts, value(embeddings, labels, allowed), embeddings)),
  };
}
