import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from '../kernels/index.js';
import type { NativeEngineAddon } from './addon.js';
import { fusedAdamKernel } from './adam-kernel.js';
import { NATIVE_BACKEND, NATIVE_PLANNERS, nativeKernel } from './kernels.js';

export { NATIVE_BACKEND } from './kernels.js';

/**
 * Registers the `native` backend: a wasm backend instance of its own (tensors stay in its heap, and
 * wasm keeps running the small ops) whose heavy kernels — matmul, convolutions and their gradients,
 * pooling and its gradients, Adam's update — run in the native addon. Every other kernel is wasm's (with simkit's
 * wasm training kernels). Idempotent. Needs @tensorflow/tfjs-backend-wasm imported first.
 */
export function registerNativeBackend(addon: NativeEngineAddon): void {
  if (tf.findBackendFactory(NATIVE_BACKEND)) return;
  const wasmFactory = tf.findBackendFactory('wasm');
  if (!wasmFactory) throw new Error('the wasm backend is not registered: import @tensorflow/tfjs-backend-wasm first');
  registerWasmTrainingKernels();
  for (const config of tf.getKernelsForBackend('wasm')) {
    if (!(config.kernelName in NATIVE_PLANNERS)) tf.registerKernel({ ...config, backendName: NATIVE_BACKEND });
  }
  for (const [name, planner] of Object.entries(NATIVE_PLANNERS)) {
    tf.registerKernel(nativeKernel(name, planner, addon, tf.getKernel(name, 'wasm')));
  }
  tf.registerKernel(fusedAdamKernel(addon));
  tf.registerBackend(NATIVE_BACKEND, () => wasmFactory() as Promise<tf.KernelBackend>, 2);
}
