import * as tf from '@tensorflow/tfjs';
import type { ClassHead, HeadFactory, ObjectiveDims } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';
import { initialClassMatrix } from '../../core/losses/class-matrix.js';

export interface DenseHeadOptions {
  /** Weights to start from (embedding size × classes), or null for random ones; set in code only. */
  readonly initialWeights: tf.Tensor2D | null;
}

/** A plain linear classifier: logits = x·Wᵀ + b (softmax classification, no margin). */
export class DenseHead implements ClassHead {
  private readonly weight: tf.Variable;
  private readonly bias: tf.Variable;

  constructor(dims: ObjectiveDims, options: DenseHeadOptions) {
    // tf.tidy keeps the variables and disposes the tensors they were made from.
    this.weight = tf.tidy(() =>
      tf.variable(options.initialWeights ?? initialClassMatrix([dims.numClasses, dims.embeddingDim], dims.seed)),
    );
    this.bias = tf.tidy(() => tf.variable(tf.zeros([dims.numClasses])));
  }

  logits(embeddings: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.matMul(embeddings, this.weight as tf.Tensor2D, false, true).add(this.bias) as tf.Tensor2D);
  }

  variables(): tf.Variable[] {
    return [this.weight, this.bias];
  }

  getWeights(): tf.NamedTensorMap {
    return { weight: this.weight, bias: this.bias };
  }

  setWeights(weights: tf.NamedTensorMap): void {
    for (const [name, variable] of Object.entries({ weight: this.weight, bias: this.bias })) {
      const value = weights[name];
      if (!value || value.shape.join() !== variable.shape.join())
        throw new UserError(`dense head: expected ${name} of shape ${variable.shape}`);
      variable.assign(value);
    }
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}

export const dense: Registration<HeadFactory, DenseHeadOptions> = {
  name: 'dense',
  description: 'linear classifier x·Wᵀ + b for softmax, logistic or focal losses',
  defaults: { initialWeights: null },
  create: (options: DenseHeadOptions) => (dims) => new DenseHead(dims, options),
};
