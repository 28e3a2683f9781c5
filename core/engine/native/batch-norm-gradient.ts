import * as tf from '@tensorflow/tfjs';
import type { NativeEngineAddon } from './addon.js';
import { NATIVE_BACKEND, runMultiOutput, type WasmHeapBackend } from './kernels.js';

/** The native kernel computing every gradient of FusedBatchNorm in one pass. */
export const BATCH_NORM_GRAD = 'SimkitBatchNormGrad';

const size = (shape: readonly number[]): number => shape.reduce((product, dim) => product * dim, 1);

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
      return runMultiOutput(BATCH_NORM_GRAD, backend, [x!.shape, [channels], [channels], [channels], [channels]], (heap, outputs) =>
        addon.batchNormGrad(heap, ...at, scaleAt, ...(outputs as [number, number, number, number, number]), size(x!.shape), channels, epsilon),
      );
    },
  };
}

/**
 * Replaces FusedBatchNorm's gradient with one that, on a backend with BATCH_NORM_GRAD and for the
 * layout batch-norm layers use (float32, per-channel vectors over the last axis), runs that kernel
 * once for all five inputs; anywhere else it is tfjs's own gradient, unchanged. Idempotent.
 */
export function registerBatchNormGradient(): void {
  const original = tf.getGradient('FusedBatchNorm');
  if (!original || (original as { simkit?: boolean }).simkit) return;
  const config: tf.GradConfig & { simkit: boolean } = {
    ...original,
    simkit: true,
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      const channels = x.shape.at(-1)!;
      const covered =
        tf.getKernel(BATCH_NORM_GRAD, tf.getBackend()) !== undefined &&
        [dy as tf.Tensor, x, mean, variance, scale].every((t) => !t || t.dtype === 'float32') &&
        [mean, variance, scale].every((t) => !t || (t.rank === 1 && t.shape[0] === channels));
      if (!covered) return original.gradFunc(dy, saved, attrs);
      // Computed here, not in the closures: the engine runs each closure in a tidy of its own, which
      // would release the other gradients of a shared result. What is not asked for is released
      // with the rest of the backward pass.
      const [dx, dMean, dVariance, dScale, dOffset] = tf.engine().runKernel(BATCH_NORM_GRAD, { dy: dy as tf.Tensor, x, mean, variance, ...(scale ? { scale } : {}) }, attrs) as tf.Tensor[];
      return { x: () => dx!, mean: () => dMean!, variance: () => dVariance!, scale: () => dScale!, offset: () => dOffset! };
    },
  };
  tf.registerGradient(config);
}
