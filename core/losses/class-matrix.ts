import * as tf from '@tensorflow/tfjs';
import type { ClassHead, ObjectiveDims, TrainingProgress } from '../contracts/loss.js';
import { UserError } from '../errors.js';
import { DEFAULT_SEED } from '../random.js';
import { l2Normalize } from '../tensors.js';

let nextId = 0;

// Re-exported for the losses that import it from here.
export { l2Normalize };

/**
 * The initial class matrix of every head and loss that learns class centres, proxies or classifier weights: rows × D
 * values drawn from N(0, 1/√D) with `seed` (the objective dims' seed: see ObjectiveDims.seed).
 */
export function initialClassMatrix(shape: [number, number], seed: number | undefined): tf.Tensor2D {
  return tf.randomNormal(shape, 0, 1 / Math.sqrt(shape[1]), 'float32', seed ?? DEFAULT_SEED);
}

/**
 * A trainable class matrix W (C × D, or C·k × D with k sub-centres per class) whose rows are class
 * centres. Heads subclass it and say how the true class's cosine is turned into its logit.
 */
export abstract class ClassMatrixHead implements ClassHead {
  protected readonly weight: tf.Variable;

  constructor(
    readonly dims: ObjectiveDims,
    protected readonly centres = 1,
    initial?: tf.Tensor2D,
  ) {
    const shape: [number, number] = [dims.numClasses * centres, dims.embeddingDim];
    if (initial && (initial.shape[0] !== shape[0] || initial.shape[1] !== shape[1])) {
      throw new UserError(`initial class weights have shape ${initial.shape}, expected ${shape}`);
    }
    const init = initial ?? initialClassMatrix(shape, dims.seed);
    this.weight = tf.variable(init, true, `class-matrix-${nextId++}`);
    if (!initial) init.dispose();
  }

  /** Cosine between each embedding and each class (max over its sub-centres): B × C. */
  protected cosines(embeddings: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy((): tf.Tensor2D => {
      const cos = tf.matMul(l2Normalize(embeddings), l2Normalize(this.weight as tf.Tensor2D), false, true);
      if (this.centres === 1) return cos as tf.Tensor2D;
      return cos.reshape([-1, this.dims.numClasses, this.centres]).max(2) as tf.Tensor2D;
    });
  }

  /** The true class's logit given its cosine (B × 1). */
  protected abstract marginLogit(cos: tf.Tensor2D): tf.Tensor2D;
  protected abstract readonly scale: number;

  logits(embeddings: tf.Tensor2D, labels?: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const cos = this.cosines(embeddings);
      if (!labels) return cos.mul(this.scale);
      const oneHot = tf.oneHot(labels.toInt(), this.dims.numClasses).toFloat();
      const target = this.marginLogit(cos);
      return oneHot.mul(target).add(tf.scalar(1).sub(oneHot).mul(cos.mul(this.scale))) as tf.Tensor2D;
    });
  }

  variables(): tf.Variable[] {
    return [this.weight];
  }

  getWeights(): tf.NamedTensorMap {
    return { weight: this.weight };
  }

  setWeights(weights: tf.NamedTensorMap): void {
    const value = weights.weight;
    if (!value || value.shape.join() !== this.weight.shape.join()) {
      throw new UserError(
        `class matrix: expected a weight of shape ${this.weight.shape}, got ${value?.shape ?? 'none'}`,
      );
    }
    this.weight.assign(value);
  }

  onStep?(progress: TrainingProgress): void;

  dispose(): void {
    this.weight.dispose();
  }
}

/**
 * A margin that rises linearly from `start` to its final value over the first `epochs` epochs (Shopee's winners raised
 * m).
 */
export interface MarginSchedule {
  readonly start: number;
  readonly epochs: number;
}

/** Where a margin stands between a schedule's `start` (0) and its final value (1); 1 without a schedule. */
export function scheduleFraction(schedule: MarginSchedule | null, progress: TrainingProgress | null): number {
  if (!schedule || schedule.epochs <= 0) return 1;
  if (!progress) return 0;
  return Math.min(1, (progress.step + 1) / (schedule.epochs * progress.stepsPerEpoch));
}
