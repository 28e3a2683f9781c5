import * as tf from '@tensorflow/tfjs';
import type { HeadFactory, ObjectiveDims } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { ClassMatrixHead } from '../../core/losses/class-matrix.js';

export interface SphereFaceOptions {
  /** Multiplicative angular margin m (θ becomes m·θ). */
  readonly margin: number;
  readonly scale: number;
  readonly initialWeights: tf.Tensor2D | null;
}

export const SPHEREFACE_DEFAULTS: SphereFaceOptions = { margin: 1.35, scale: 30, initialWeights: null };

/**
 * SphereFace: true-class logit s·cos(m·θ). Past m·θ = π the cosine would rise again, so it is
 * continued linearly downwards: ψ(θ) = cos(min(m·θ, π)) − (2/π)·max(m·θ − π, 0).
 */
export class SphereFaceHead extends ClassMatrixHead {
  protected readonly scale: number;

  constructor(dims: ObjectiveDims, private readonly options: SphereFaceOptions) {
    super(dims, 1, options.initialWeights ?? undefined);
    this.scale = options.scale;
  }

  protected marginLogit(cos: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const scaled = tf.acos(cos.clipByValue(-1 + 1e-7, 1 - 1e-7)).mul(this.options.margin);
      const psi = tf.cos(scaled.minimum(Math.PI)).sub(scaled.maximum(Math.PI).sub(Math.PI).mul(2 / Math.PI));
      return psi.mul(this.scale) as tf.Tensor2D;
    });
  }
}

export const sphereface: Registration<HeadFactory, SphereFaceOptions> = {
  name: 'sphereface',
  description: 'SphereFace: s·cos(m·θ) for the true class (multiplicative angular margin), kept monotone past π',
  defaults: SPHEREFACE_DEFAULTS,
  create: (options: SphereFaceOptions) => (dims) => new SphereFaceHead(dims, options),
};
