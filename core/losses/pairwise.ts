import * as tf from '@tensorflow/tfjs';
import type { Miner, PairMiner } from '../contracts/loss.js';
import { UserError } from '../errors.js';

/** Float masks from integer labels: positive[i,j] = same label and i ≠ j; negative[i,j] = different label. */
export function labelMasks(labels: tf.Tensor1D): { positive: tf.Tensor2D; negative: tf.Tensor2D } {
  return tf.tidy(() => {
    const column = labels.toInt().reshape([-1, 1]);
    const same = tf.equal(column, column.transpose()).toFloat();
    const identity = tf.eye(labels.shape[0]);
    return { positive: same.sub(identity) as tf.Tensor2D, negative: tf.scalar(1).sub(same) as tf.Tensor2D };
  });
}

/**
 * A loss given a miner of the kind it cannot use; `createObjective` names the registered miners of the `wanted` kind.
 */
export class MinerKindError extends UserError {
  constructor(
    readonly loss: string,
    readonly wanted: Miner['kind'] | 'none',
    readonly given: Miner['kind'],
  ) {
    super(
      wanted === 'none'
        ? `the ${loss} loss takes no miner (a ${given} miner was given)`
        : `the ${loss} loss takes a ${wanted} miner, not a ${given} miner`,
      'drop the miner',
    );
    this.name = 'MinerKindError';
  }
}

/** The configured miner when it is of the kind this loss uses; a miner of the other kind is an error. */
export function minerOfKind<K extends Miner['kind']>(
  miner: Miner | undefined,
  kind: K,
  loss: string,
): Extract<Miner, { kind: K }> | undefined {
  if (!miner) return undefined;
  if (miner.kind !== kind) throw new MinerKindError(loss, kind, miner.kind);
  return miner as Extract<Miner, { kind: K }>;
}

/** Refuses any miner for a loss that selects its own terms. */
export function noMiner(miner: Miner | undefined, loss: string): undefined {
  if (miner) throw new MinerKindError(loss, 'none', miner.kind);
  return undefined;
}

/**
 * Label masks of the batch, kept to the `allowed` pairs when given, then narrowed by a pair miner when one is given (it
 * sees the distances outside the gradient).
 */
export function pairMasks(
  distances: tf.Tensor2D,
  labels: tf.Tensor1D,
  miner: PairMiner | undefined,
  allowed?: tf.Tensor2D,
): { positive: tf.Tensor2D; negative: tf.Tensor2D } {
  return tf.tidy(() => {
    const all = labelMasks(labels);
    const masks = allowed
      ? { positive: all.positive.mul(allowed) as tf.Tensor2D, negative: all.negative.mul(allowed) as tf.Tensor2D }
      : all;
    return miner ? miner.select(detached(distances), masks.positive, masks.negative) : masks;
  });
}

/** The Trainable part of a loss without variables. */
export const PARAMETER_FREE = {
  variables: (): tf.Variable[] => [],
  getWeights: (): tf.NamedTensorMap => ({}),
  setWeights: (): void => {},
  dispose: (): void => {},
};

/**
 * `compute(input)` run outside the gradient tape (as the forward pass of a tf.customGrad, whose
 * ops are not recorded), with a zero gradient: selections and counts that would otherwise keep
 * every intermediate tensor alive until backpropagation (c×B×B per chunk of triplets).
 */
export function outsideTape<T extends tf.Tensor>(input: tf.Tensor, compute: (x: tf.Tensor) => T): T {
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    return { value: compute(x), gradFunc: () => tf.zerosLike(x) };
  });
  return run(input);
}

/** A copy outside the gradient tape: mining and sampling weights select, they are not differentiated. */
export function detached<T extends tf.Tensor>(x: T): T {
  return tf.tensor(x.dataSync(), x.shape, x.dtype) as T;
}
