import * as tf from '@tensorflow/tfjs';

export type KernelAttrs = tf.NamedAttrMap;

/**
 * A wasm kernel written with tf ops. Inside a kernel the active backend is wasm, so ops run there;
 * the tidy releases every intermediate and hands only the result to the engine. Kernels receive
 * the op's input Tensors (the engine passes them through unchanged from the calling op).
 */
export function wasmKernel(
  kernelName: string,
  compute: (inputs: Record<string, tf.Tensor>, attrs: KernelAttrs) => tf.Tensor,
): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => tf.tidy(() => compute(inputs as Record<string, tf.Tensor>, attrs ?? {})),
  };
}
