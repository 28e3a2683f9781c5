import type * as tf from '@tensorflow/tfjs';
import { FUSED_ADAM } from '../adam.js';
import type { NativeEngineAddon } from './addon.js';
import { NATIVE_BACKEND, runMultiOutput, size, type WasmHeapBackend } from './kernels.js';

/** FUSED_ADAM on the native backend: new value and moments in one multi-threaded pass. */
export function fusedAdamKernel(addon: NativeEngineAddon): tf.KernelConfig {
  return {
    kernelName: FUSED_ADAM,
    backendName: NATIVE_BACKEND,
    kernelFunc: ({ inputs, attrs, backend: kernelBackend }) => {
      const backend = kernelBackend as unknown as WasmHeapBackend;
      const { value, gradient, first, second } = inputs as Record<string, tf.TensorInfo>;
      const a = attrs as Record<string, number>;
      const offset = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
      const tensors = [value, gradient, first, second];
      const count = value ? size(value.shape) : 0;
      if (tensors.some((t) => !t || t.dtype !== 'float32' || size(t.shape) !== count)) {
        throw new Error(
          `${FUSED_ADAM}: value, gradient and moments must be float32 tensors of one size (shapes ${tensors.map((t) => `[${t?.shape}]`).join(', ')})`,
        );
      }
      const at = tensors.map((t) => offset(t!)) as [number, number, number, number];
      return runMultiOutput(
        FUSED_ADAM,
        backend,
        [value!.shape, first!.shape, second!.shape],
        (heap, [newValue, newFirst, newSecond]) =>
          addon.adam(
            heap,
            ...at,
            newValue!,
            newFirst!,
            newSecond!,
            count,
            a.negativeRate!,
            a.beta1!,
            a.keep1!,
            a.beta2!,
            a.keep2!,
            a.epsilon!,
            a.correction1!,
            a.correction2!,
          ),
      );
    },
  };
}
