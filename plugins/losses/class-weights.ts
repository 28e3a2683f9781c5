import * as tf from '@tensorflow/tfjs';
import type { LossFactory, Trainable } from '../../core/contracts/loss.js';
import { embeddingLoss, type LossParts } from '../../core/losses/embedding-loss.js';
import { noMiner } from '../../core/losses/pairwise.js';
import { reduce } from '../../core/losses/reducers.js';
import { UserError } from '../../core/errors.js';
import { initialClassMatrix } from '../../core/losses/class-matrix.js';

/**
 * Pieces shared by the losses of the catalogue that own a class matrix (proxies, class centres,
 * classifier weights) or compute class logits.
 */

/** A trainable rows × D matrix under a stable checkpoint name (`proxies`, `weight`, …), drawn with the loss's seed. */
export function classMatrix(
  loss: string,
  name: string,
  shape: [number, number],
  seed: number | undefined,
): { readonly matrix: tf.Variable<tf.Rank.R2>; readonly trainable: Trainable } {
  if (!(shape[0] >= 1)) throw new UserError(`${loss}: needs the number of classes (got ${shape[0]} rows)`);
  const initial = initialClassMatrix(shape, seed);
  const matrix = tf.variable(initial, true);
  initial.dispose();
  return {
    matrix,
    trainable: {
      variables: () => [matrix],
      getWeights: () => ({ [name]: matrix }),
      setWeights: (weights) => {
        const value = weights[name];
        if (!value || value.shape.join() !== matrix.shape.join())
          throw new UserError(`${loss}: expected ${name} of shape ${matrix.shape}, got ${value?.shape ?? 'none'}`);
        matrix.assign(value as tf.Tensor2D);
      },
      dispose: () => matrix.dispose(),
    },
  };
}

/** B × depth float rows, 1 at each row's index (any depth ≥ 1, unlike tf.oneHot). */
export function indicator(indices: tf.Tensor1D, depth: number): tf.Tensor2D {
  return tf.tidy(
    () =>
      tf
        .equal(indices.toInt().reshape([-1, 1]), tf.range(0, depth, 1, 'int32').reshape([1, -1]))
        .toFloat() as tf.Tensor2D,
  );
}

/** −log softmax(logits)[label] for each row (a B vector, to be reduced). */
export function crossEntropyPerRow(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.logSoftmax(logits).mul(indicator(labels, logits.shape[1])).sum(1).neg() as tf.Tensor1D);
}

/** Index of each row's label among the batch's distinct labels, sorted (0 … C′ − 1). */
export function labelRanks(labels: ArrayLike<number>): { ranks: number[]; distinct: number } {
  const distinct = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const rank = new Map(distinct.map((label, r) => [label, r]));
  return { ranks: Array.from(labels, (label) => rank.get(label)!), distinct: distinct.length };
}

/**
 * The loss of ProxyNCA and normalized softmax: per row, the cross-entropy of its scaled similarities
 * (the distance's) to a trainable matrix of one row per class (checkpoint name `matrixName`), reduced.
 */
export function classSoftmaxLoss(
  loss: string,
  matrixName: string,
  parts: LossParts,
  scale: (similarities: tf.Tensor2D) => tf.Tensor2D,
): LossFactory {
  return ({ numClasses, embeddingDim, miner, seed }) => {
    noMiner(miner, loss);
    const { matrix, trainable } = classMatrix(loss, matrixName, [numClasses, embeddingDim], seed);
    return embeddingLoss(
      parts,
      (embeddings, labels) =>
        tf.tidy(() => {
          const perRow = crossEntropyPerRow(scale(parts.distance.similarities(embeddings, matrix)), labels);
          return reduce(parts.reducer, perRow, tf.onesLike(perRow));
        }),
      trainable,
    );
  };
}
