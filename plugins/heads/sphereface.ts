import * as tf from '@tensorflow/tfjs';
import type { HeadFactory, ObjectiveDims } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';
import { ClassMatrixHead } from '../../core/losses/class-matrix.js';
import { piecewisePsi } from '../../core/losses/psi.js';

export interface SphereFaceOptions {
  /** Multiplicative angular margin m (θ becomes m·θ). */
  readonly margin: number;
  /** Scale s of the cosine logits. */
  readonly scale: number;
  /**
   * How ψ continues past m·θ = π, where cos(m·θ) would rise again: `linear`, ψ = cos(min(m·θ, π)) −
   * (2/π)·max(m·θ − π, 0); `piecewise`, the SphereFace paper's and pytorch-metric-learning's
   * ψ = (−1)^k·cos(m·θ) − 2k with k = ⌊m·θ/π⌋.
   */
  readonly psi: 'linear' | 'piecewise';
  /**
   * Multiplies every logit by the embedding's own length ‖x‖ (pytorch-metric-learning's SphereFaceLoss); off, the
   * logits are those of the unit row (the model emits unit rows, where both agree).
   */
  readonly scaleByNorm: boolean;
  /** Class matrix to start from (classes × embedding size), or null for a random one; set in code only. */
  readonly initialWeights: tf.Tensor2D | null;
}

export const SPHEREFACE_DEFAULTS: SphereFaceOptions = {
  margin: 1.35,
  scale: 30,
  psi: 'linear',
  scaleByNorm: false,
  initialWeights: null,
};

const PSI = ['linear', 'piecewise'];

/** SphereFace: true-class logit s·ψ(θ) with ψ = cos(m·θ) up to m·θ = π, continued decreasingly past it (`psi`). */
export class SphereFaceHead extends ClassMatrixHead {
  protected readonly scale: number;

  constructor(
    dims: ObjectiveDims,
    private readonly options: SphereFaceOptions,
  ) {
    super(dims, 1, options.initialWeights ?? undefined);
    if (!PSI.includes(options.psi))
      throw new UserError(`sphereface: unknown psi "${options.psi}"`, `known: ${PSI.join(', ')}`);
    this.scale = options.scale;
  }

  override logits(embeddings: tf.Tensor2D, labels?: tf.Tensor1D): tf.Tensor2D {
    if (!this.options.scaleByNorm) return super.logits(embeddings, labels);
    return tf.tidy(() => super.logits(embeddings, labels).mul(embeddings.norm('euclidean', 1, true)) as tf.Tensor2D);
  }

  protected marginLogit(cos: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const scaled = tf.acos(cos.clipByValue(-1 + 1e-7, 1 - 1e-7)).mul(this.options.margin);
      // k has zero gradient (floor).
      if (this.options.psi === 'piecewise')
        return piecewisePsi(tf.cos(scaled), tf.floor(scaled.div(Math.PI))).mul(this.scale) as tf.Tensor2D;
      const psi = tf.cos(scaled.minimum(Math.PI)).sub(
        scaled
          .maximum(Math.PI)
          .sub(Math.PI)
          .mul(2 / Math.PI),
      );
      return psi.mul(this.scale) as tf.Tensor2D;
    });
  }
}

export const sphereface: Registration<HeadFactory, SphereFaceOptions> = {
  name: 'sphereface',
  description:
    "SphereFace: s·cos(m·θ) for the true class (multiplicative angular margin), kept monotone past π (linear, or the paper's piecewise ψ)",
  defaults: SPHEREFACE_DEFAULTS,
  ranges: { margin: { above: 0 }, scale: { above: 0 } },
  create: (options: SphereFaceOptions) => (dims) => new SphereFaceHead(dims, options),
};
