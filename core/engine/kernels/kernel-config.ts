import * as tf from '@tensorflow/tfjs';

export type KernelAttrs = tf.NamedAttrMap;

/**
 * A wasm kernel written with tf ops. Inside a kernel the active backend is wasm, so ops run there;
 * the tidy releases every intermediate and hands only the result to the engine. Kernels receive
 * the op's input Tensors (the engine passes them through unchanged from the calling op), by the
 * names listed in `inputNames`.
 */
export function wasmKernel<Input extends string>(
  kernelName: string,
  inputNames: readonly Input[],
  compute: (inputs: Readonly<Record<Input, tf.Tensor>>, attrs: KernelAttrs) => tf.Tensor,
): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => {
      const missing = inputNames.filter((name) => inputs[name] == null);
      if (missing.length > 0) throw new Error(`${kernelName}: no input ${missing.join(', ')}`);
      return tf.tidy(() => compute(inputs as Record<Input, tf.Tensor>, attrs ?? {}));
    },
  };
}
