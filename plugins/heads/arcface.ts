import * as tf from '@tensorflow/tfjs';
import type { HeadFactory, ObjectiveDims, TrainingProgress } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';
import { ClassMatrixHead, scheduleFraction, type MarginSchedule } from '../../core/losses/class-matrix.js';

/** Per-class margins m_c = a·n_c^(−λ) + b from the training count n_c of class c (rare classes get larger margins). */
export interface DynamicMargins {
  readonly a: number;
  readonly lambda: number;
  readonly b: number;
}

export interface ArcFaceOptions {
  /** Additive angular margin, in radians. */
  readonly margin: number;
  /** The same margin given in degrees (pytorch-metric-learning's unit: its 28.6 is 0.4992 rad); replaces `margin`. */
  readonly marginDegrees: number | null;
  /** Scale s of the cosine logits. */
  readonly scale: number;
  /** Sub-centres per class (sub-center ArcFace): the cosine to a class is the max over its centres. */
  readonly centres: number;
  /** Replaces `margin` by per-class margins; needs the class counts. */
  readonly dynamic: DynamicMargins | null;
  /** Raises every margin linearly from `start` to its final value over the first `epochs` epochs. */
  readonly schedule: MarginSchedule | null;
  /** Class matrix to start from (classes × embedding size), or null for a random one; set in code only. */
  readonly initialWeights: tf.Tensor2D | null;
}

export const ARCFACE_DEFAULTS: ArcFaceOptions = {
  margin: 0.5,
  marginDegrees: null,
  scale: 30,
  centres: 1,
  dynamic: null,
  schedule: null,
  initialWeights: null,
};

/**
 * The options with `marginDegrees`, when set, turned into `margin` (radians), which it replaces (a
 * config file naming `marginDegrees` overrides the adapter's `margin`).
 */
export function inRadians(options: ArcFaceOptions): ArcFaceOptions {
  return options.marginDegrees === null
    ? options
    : { ...options, margin: (options.marginDegrees * Math.PI) / 180, marginDegrees: null };
}

export function dynamicMargins(counts: readonly number[], { a, lambda, b }: DynamicMargins): number[] {
  return counts.map((n) => a * Math.max(n, 1) ** -lambda + b);
}

/**
 * ArcFace: true-class logit s·cos(θ + m). Where θ + m > π, cos(θ + m) would rise again, so the
 * logit falls back to s·(cos θ − m·sin m), which keeps decreasing in θ.
 */
export class ArcFaceHead extends ClassMatrixHead {
  protected readonly scale: number;
  /** Final margins: one number, or 1×C per-class margins. */
  private readonly finalMargins: tf.Tensor;
  private fraction: number;

  constructor(
    dims: ObjectiveDims,
    private readonly options: ArcFaceOptions,
  ) {
    super(dims, options.centres, options.initialWeights ?? undefined);
    this.scale = options.scale;
    const { dynamic } = options;
    if (dynamic && dims.classCounts?.length !== dims.numClasses) {
      throw new UserError(
        'dynamic ArcFace margins need the training count of every class',
        'pass classCounts with the objective dims, or drop headOptions.dynamic',
      );
    }
    this.finalMargins = dynamic ? tf.tensor2d([dynamicMargins(dims.classCounts!, dynamic)]) : tf.scalar(options.margin);
    this.fraction = scheduleFraction(options.schedule, null);
  }

  /** The margins in force now (scalar or 1×C). */
  currentMargins(): tf.Tensor {
    const start = this.options.schedule?.start ?? 0;
    return tf.tidy(() => this.finalMargins.sub(start).mul(this.fraction).add(start));
  }

  protected marginLogit(cos: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const theta = tf.acos(cos.clipByValue(-1 + 1e-7, 1 - 1e-7));
      const m = this.currentMargins();
      const arc = tf.cos(theta.add(m));
      const fallback = cos.sub(m.mul(tf.sin(m)));
      // tf.step (0 gradient) instead of a boolean mask: comparisons have no gradient in TF.js.
      const beyond = tf.step(theta.add(m).sub(Math.PI));
      return beyond.mul(fallback).add(tf.scalar(1).sub(beyond).mul(arc)).mul(this.scale) as tf.Tensor2D;
    });
  }

  override onStep(progress: TrainingProgress): void {
    this.fraction = scheduleFraction(this.options.schedule, progress);
  }

  override dispose(): void {
    super.dispose();
    this.finalMargins.dispose();
  }
}

function arcfaceVariant(
  name: string,
  description: string,
  defaults: ArcFaceOptions,
): Registration<HeadFactory, ArcFaceOptions> {
  return {
    name,
    description,
    defaults,
    ranges: {
      margin: { min: 0 },
      marginDegrees: { min: 0, optional: true },
      scale: { above: 0 },
      centres: { integer: true, min: 1 },
    },
    create: (options: ArcFaceOptions) => {
      const o = inRadians(options);
      return (dims) => new ArcFaceHead(dims, o);
    },
  };
}

export const arcface = arcfaceVariant(
  'arcface',
  'ArcFace: s·cos(θ+m) for the true class (margin in radians, or marginDegrees); options for sub-centres, per-class margins, a rising margin',
  ARCFACE_DEFAULTS,
);

export const subcenterArcface = arcfaceVariant(
  'subcenter-arcface',
  'sub-center ArcFace: k centres per class (default 3), cosine = max over them, then the ArcFace margin',
  { ...ARCFACE_DEFAULTS, centres: 3 },
);

export const dynamicArcface = arcfaceVariant(
  'dynamic-arcface',
  'ArcFace with per-class margins m_c = a·n_c^(−λ) + b from class counts (default a 0.45, λ 0.25, b 0.05)',
  { ...ARCFACE_DEFAULTS, dynamic: { a: 0.45, lambda: 0.25, b: 0.05 } },
);
