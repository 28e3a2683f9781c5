import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from '../kernels/index.js';
import type { NativeEngineAddon } from './addon.js';
import { fusedAdamKernel } from './adam-kernel.js';
import { batchNormGradKernel, registerNativeGradients } from './gradients.js';
import { NATIVE_BACKEND, NATIVE_PLANNERS, nativeKernel } from './kernels.js';
import { precisionRouted } from './precision.js';
import { registerInferenceKernels } from './inference-kernels.js';
import { registerTrainingKernels } from './training-kernels.js';

export { NATIVE_BACKEND } from './kernels.js';

/** wasm's Identity copies its input; tensors are immutable, so the output can share it, as the cpu backend's does. */
const sharedIdentityKernel: tf.KernelConfig = {
  kernelName: 'Identity',
  backendName: NATIVE_BACKEND,
  kernelFunc: ({ inputs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    (backend as unknown as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  },
};

/**
 * Registers the `native` backend: a wasm backend instance of its own (tensors stay in its heap, and wasm keeps running
 * the small ops) whose heavy kernels — matmul, convolutions and their gradients, pooling and its gradients, batch norm
 * and its gradient, large reductions and arithmetic, Adam's update — run in the native addon, and whose Identity shares
 * its input. Every other kernel is wasm's (with simkit's wasm training kernels). Idempotent. Needs
 * @tensorflow/tfjs-backend-wasm imported first.
 */
export function registerNativeBackend(addon: NativeEngineAddon): void {
  if (tf.findBackendFactory(NATIVE_BACKEND)) return;
  const wasmFactory = tf.findBackendFactory('wasm');
  if (!wasmFactory) throw new Error('the wasm backend is not registered: import @tensorflow/tfjs-backend-wasm first');
  registerWasmTrainingKernels();
  for (const config of tf.getKernelsForBackend('wasm')) {
    if (!(config.kernelName in NATIVE_PLANNERS) && config.kernelName !== 'Identity')
      tf.registerKernel({ ...config, backendName: NATIVE_BACKEND });
  }
  const routed = precisionRouted(addon);
  for (const [name, planner] of Object.entries(NATIVE_PLANNERS)) {
    tf.registerKernel(nativeKernel(name, planner, routed, tf.getKernel(name, 'wasm')));
  }
  tf.registerKernel(fusedAdamKernel(addon));
  tf.registerKernel(sharedIdentityKernel);
  tf.registerKernel(batchNormGradKernel(addon));
  registerNativeGradients();
  registerTrainingKernels(addon);
  registerInferenceKernels(addon);
  tf.registerBackend(NATIVE_BACKEND, () => wasmFactory(), 2);
}
