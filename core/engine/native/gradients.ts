import * as tf from '@tensorflow/tfjs';
import type { NativeEngineAddon } from './addon.js';
import { NATIVE_BACKEND, runMultiOutput, size, type WasmHeapBackend } from './kernels.js';

/** The native kernel computing every gradient of FusedBatchNorm in one pass. */
export const BATCH_NORM_GRAD = 'SimkitBatchNormGrad';

/** BATCH_NORM_GRAD on the native backend: dx, dMean, dVariance, dScale, dOffset. */
export function batchNormGradKernel(addon: NativeEngineAddon): tf.KernelConfig {
  return {
    kernelName: BATCH_NORM_GRAD,
    backendName: NATIVE_BACKEND,
    kernelFunc: ({ inputs, attrs, backend: kernelBackend }) => {
      const backend = kernelBackend as unknown as WasmHeapBackend;
      const { dy, x, mean, variance, scale } = inputs as Record<string, tf.TensorInfo | undefined>;
      const channels = mean!.shape[0]!;
      const offset = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
      const at = [dy!, x!, mean!, variance!].map(offset) as [number, number, number, number];
      const scaleAt = scale ? offset(scale) : -1;
      const epsilon = Number((attrs as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001);
      return runMultiOutput(
        BATCH_NORM_GRAD,
        backend,
        [x!.shape, [channels], [channels], [channels], [channels]],
        (heap, outputs) =>
          addon.batchNormGrad(
            heap,
            ...at,
            scaleAt,
            ...(outputs as [number, number, number, number, number]),
            size(x!.shape),
            channels,
            epsilon,
          ),
      );
    },
  };
}

/**
 * Replaces `kernelName`'s registered gradient with `faster` where the active backend is native and
 * `covers` the saved tensors; anywhere else tfjs's own gradient runs, unchanged. Idempotent.
 */
export function overrideGradient(
  kernelName: string,
  covers: (dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap) => boolean,
  faster: tf.GradConfig['gradFunc'],
): void {
  const original = tf.getGradient(kernelName);
  if (!original || (original as { simkit?: boolean }).simkit) return;
  const config: tf.GradConfig & { simkit: boolean } = {
    ...original,
    simkit: true,
    gradFunc: (dy, saved, attrs) =>
      tf.getBackend() === NATIVE_BACKEND && covers(dy as tf.Tensor, saved, attrs)
        ? faster(dy, saved, attrs)
        : original.gradFunc(dy, saved, attrs),
  };
  tf.registerGradient(config);
}

/**
 * FusedBatchNorm, for the layout batch-norm layers use (float32, per-channel vectors over the last
 * axis): BATCH_NORM_GRAD computes all five gradients in one pass.
 */
function registerBatchNormGradient(): void {
  overrideGradient(
    'FusedBatchNorm',
    (dy, [x, mean, variance, scale]) =>
      [dy, x, mean, variance, scale].every((t) => !t || t.dtype === 'float32') &&
      [mean, variance, scale].every((t) => !t || (t.rank === 1 && t.shape[0] === x!.shape.at(-1))),
    (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      // Computed here, not in the closures: the engine runs each closure in a tidy of its own, which
      // would release the other gradients of a shared result. What is not asked for is released
      // with the rest of the backward pass.
      const [dx, dMean, dVariance, dScale, dOffset] = tf
        .engine()
        .runKernel(
          BATCH_NORM_GRAD,
          { dy: dy as tf.Tensor, x, mean, variance, ...(scale ? { scale } : {}) },
          attrs,
        ) as tf.Tensor[];
      return {
        x: () => dx!,
        mean: () => dMean!,
        variance: () => dVariance!,
        scale: () => dScale!,
        offset: () => dOffset!,
      };
    },
  );
}

/**
 * Mean over leading axes (batch moments): dx is dy / n tiled over the reduced axes, one pass,
 * where tfjs multiplies by a tensor of ones and divides (three passes over the input's size).
 */
function registerMeanGradient(): void {
  const reducedAxes = (x: tf.Tensor, attrs: tf.NamedAttrMap) =>
    tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
  overrideGradient(
    'Mean',
    (dy, [x], attrs) =>
      x!.dtype === 'float32' &&
      dy.dtype === 'float32' &&
      reducedAxes(x!, attrs).every((_, i, axes) => axes.includes(i)),
    (dy, [x], attrs) => {
      const axes = reducedAxes(x!, attrs);
      const kept = x!.shape.map((dim, i) => (axes.includes(i) ? 1 : dim));
      const count = axes.reduce((product, axis) => product * x!.shape[axis]!, 1);
      return {
        x: () =>
          tf.tile(
            tf.div(tf.reshape(dy as tf.Tensor, kept), count),
            x!.shape.map((dim, i) => (axes.includes(i) ? dim : 1)),
          ),
      };
    },
  );
}

/** The gradients the native backend computes its own way (each only there, and only where it covers the inputs). */
export function registerNativeGradients(): void {
  registerBatchNormGradient();
  registerMeanGradient();
}
