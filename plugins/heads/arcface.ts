import * as tf from '@tensorflow/tfjs';
import type { HeadFactory, ObjectiveDims, TrainingProgress } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { ClassMatrixHead, scheduledMargin, type MarginSchedule } from '../../core/losses/class-matrix.js';

export interface ArcFaceOptions {
  /** Additive angular margin, in radians. */
  readonly margin: number;
  readonly scale: number;
  /** Sub-centres per class (sub-center ArcFace); 1 = plain ArcFace. */
  readonly centres: number;
  /** Per-class margins m_c = a·n_c^(−λ) + b from class counts, replacing `margin` when set. */
  readonly dynamic: { readonly a: number; readonly lambda: number; readonly b: number } | null;
  readonly schedule: MarginSchedule | null;
  readonly initialWeights: tf.Tensor2D | null;
}

export const ARCFACE_DEFAULTS: ArcFaceOptions = { margin: 0.5, scale: 30, centres: 1, dynamic: null, schedule: null, initialWeights: null };

/**
 * ArcFace: true-class logit s·cos(θ + m). Where θ + m > π, cos(θ + m) would rise again, so the
 * logit falls back to s·(cos θ − m·sin m), which keeps decreasing in θ.
 */
export class ArcFaceHead extends ClassMatrixHead {
  protected readonly scale: number;
  private margin: number;
  private readonly classMargins: tf.Tensor1D | null;

  constructor(dims: ObjectiveDims, private readonly options: ArcFaceOptions) {
    super(dims, options.centres, options.initialWeights ?? undefined);
    this.scale = options.scale;
    this.margin = options.margin;
    const { dynamic } = options;
    this.classMargins =
      dynamic && dims.classCounts ? tf.tensor1d(dims.classCounts.map((n) => dynamic.a * Math.max(n, 1) ** -dynamic.lambda + dynamic.b)) : null;
  }

  protected marginLogit(cos: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const clipped = cos.clipByValue(-1 + 1e-7, 1 - 1e-7);
      const theta = tf.acos(clipped);
      const m: tf.Tensor = this.classMargins ? this.classMargins.reshape([1, -1]).mul(this.margin / this.options.margin) : tf.scalar(this.margin);
      const arc = tf.cos(theta.add(m));
      const fallback = cos.sub(m.mul(tf.sin(m)));
      // tf.step (0 gradient) instead of a boolean mask: comparisons have no gradient in TF.js.
      const beyond = tf.step(theta.add(m).sub(Math.PI));
      return beyond.mul(fallback).add(tf.scalar(1).sub(beyond).mul(arc)).mul(this.scale) as tf.Tensor2D;
    });
  }

  override onStep(progress: TrainingProgress): void {
    this.margin = scheduledMargin(this.options.margin, this.options.schedule ?? undefined, progress);
  }

  override dispose(): void {
    super.dispose();
    this.classMargins?.dispose();
  }
}

export const arcface: Registration<HeadFactory, ArcFaceOptions> = {
  name: 'arcface',
  description: 'ArcFace: s·cos(θ+m) for the true class (margin in radians), with sub-centres, dynamic per-class margins and a margin schedule',
  defaults: ARCFACE_DEFAULTS,
  create: (options) => (dims) => new ArcFaceHead(dims, { ...ARCFACE_DEFAULTS, ...options }),
};
