import * as tf from '@tensorflow/tfjs';
import type { Miner, PairMiner } from '../contracts/loss.js';
import { UserError } from '../errors.js';

export type Distance = 'cosine' | 'l2';

/**
 * B×B distances of L2-normalised rows: cosine distance 1 − cos, or Euclidean distance computed
 * as sqrt(max(2 − 2·cos, 0) + ε) so that its gradient stays finite when two rows coincide.
 */
export function distanceMatrix(embeddings: tf.Tensor2D, distance: Distance): tf.Tensor2D {
  return tf.tidy(() => {
    const cos = tf.matMul(embeddings, embeddings, false, true);
    if (distance === 'cosine') return tf.scalar(1).sub(cos) as tf.Tensor2D;
    return tf.relu(tf.scalar(2).sub(cos.mul(2))).add(1e-12).sqrt() as tf.Tensor2D;
  });
}

/** Float masks from integer labels: positive[i,j] = same label and i ≠ j; negative[i,j] = different label. */
export function labelMasks(labels: tf.Tensor1D): { positive: tf.Tensor2D; negative: tf.Tensor2D } {
  return tf.tidy(() => {
    const column = labels.toInt().reshape([-1, 1]);
    const same = tf.equal(column, column.transpose()).toFloat();
    const identity = tf.eye(labels.shape[0]);
    return { positive: same.sub(identity) as tf.Tensor2D, negative: tf.scalar(1).sub(same) as tf.Tensor2D };
  });
}

/** The configured miner when it is of the kind this loss uses; a miner of the other kind is an error. */
export function minerOfKind<K extends Miner['kind']>(miner: Miner | undefined, kind: K, loss: string): Extract<Miner, { kind: K }> | undefined {
  if (!miner) return undefined;
  if (miner.kind !== kind) throw new UserError(`the ${loss} loss takes a ${kind} miner, not a ${miner.kind} miner`, kind === 'pair' ? 'use pair-margin' : 'use all-triplets, hard, semi-hard, easy or batch-hard');
  return miner as Extract<Miner, { kind: K }>;
}

/** Label masks of the batch, narrowed by a pair miner when one is given (it sees the distances outside the gradient). */
export function pairMasks(distances: tf.Tensor2D, labels: tf.Tensor1D, miner: PairMiner | undefined): { positive: tf.Tensor2D; negative: tf.Tensor2D } {
  return tf.tidy(() => {
    const masks = labelMasks(labels);
    return miner ? miner.select(detached(distances), masks.positive, masks.negative) : masks;
  });
}

/** Mean of `values` over the entries where `mask` is 1; 0 (still connected to the graph) when the mask is empty. */
export function maskedMean(values: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => values.mul(mask).sum().div(mask.sum().maximum(1)) as tf.Scalar);
}

/** Mean over the entries that are positive (pytorch-metric-learning's "average non-zero" reduction). */
export function meanOfPositive(values: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const active = tf.step(values.mul(mask).sub(1e-12)).mul(mask);
    return values.mul(active).sum().div(active.sum().maximum(1)) as tf.Scalar;
  });
}

/** The Trainable part of a loss without variables. */
export const PARAMETER_FREE = {
  variables: (): tf.Variable[] => [],
  getWeights: (): tf.NamedTensorMap => ({}),
  setWeights: (): void => {},
  dispose: (): void => {},
};

/** A copy outside the gradient tape: mining and sampling weights select, they are not differentiated. */
export function detached<T extends tf.Tensor>(x: T): T {
  return tf.tensor(x.dataSync(), x.shape, x.dtype) as T;
}
