import * as tf from '@tensorflow/tfjs';
import type { HeadFactory, ObjectiveDims } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { ClassMatrixHead } from '../../core/losses/class-matrix.js';

export interface CosFaceOptions {
  /** Additive cosine margin m. */
  readonly margin: number;
  /** Scale s of the cosine logits. */
  readonly scale: number;
  /** Class matrix to start from (classes × embedding size), or null for a random one; set in code only. */
  readonly initialWeights: tf.Tensor2D | null;
}

export const COSFACE_DEFAULTS: CosFaceOptions = { margin: 0.35, scale: 30, initialWeights: null };

/** CosFace: true-class logit s·(cos θ − m). */
export class CosFaceHead extends ClassMatrixHead {
  protected readonly scale: number;

  constructor(
    dims: ObjectiveDims,
    private readonly options: CosFaceOptions,
  ) {
    super(dims, 1, options.initialWeights ?? undefined);
    this.scale = options.scale;
  }

  protected marginLogit(cos: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => cos.sub(this.options.margin).mul(this.scale) as tf.Tensor2D);
  }
}

export const cosface: Registration<HeadFactory, CosFaceOptions> = {
  name: 'cosface',
  description: 'CosFace: s·(cos θ − m) for the true class',
  defaults: COSFACE_DEFAULTS,
  ranges: { margin: { min: 0 }, scale: { above: 0 } },
  create: (options: CosFaceOptions) => (dims) => new CosFaceHead(dims, options),
};
