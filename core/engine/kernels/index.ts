import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterKernel, conv2DBackpropInputKernel } from './conv2d-backprop.js';
import { cpuBridgeKernel } from './cpu-bridge.js';
import { depthwiseBackpropFilterKernel, depthwiseBackpropInputKernel } from './depthwise-backprop.js';
import { unsortedSegmentSumKernel } from './unsorted-segment-sum.js';

export { cpuBridgeKernel } from './cpu-bridge.js';

/** Gradient kernels tfjs-backend-wasm 4.22 lacks, written with ops it has (see docs/engine.md). */
export const WASM_TRAINING_KERNELS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterKernel,
  depthwiseBackpropFilterKernel,
  depthwiseBackpropInputKernel,
  unsortedSegmentSumKernel,
];

/** Gradient kernels wasm has as slow direct loops, replaced by the same math through XNNPACK. */
export const WASM_FASTER_KERNELS: readonly tf.KernelConfig[] = [conv2DBackpropInputKernel];

/** Kernels wasm lacks that are rarely on a hot path: they run on the cpu backend over copies. */
export const WASM_BRIDGED_KERNELS: readonly string[] = ['Einsum'];

/**
 * `fast`: the kernels above. `stock`: what tfjs-backend-wasm 4.22 offers without them — its own
 * slow kernels, and the cpu backend's kernels over copies for those it lacks (for comparison).
 */
export type WasmKernelRoute = 'fast' | 'stock';

/** wasm's own kernels that a faster one replaced, kept for the stock route. */
const replaced = new Map<string, tf.KernelConfig>();
/** Names this module registered, so that it never replaces a kernel a later wasm release adds. */
const installed = new Set<string>();

function install(config: tf.KernelConfig, replaceExisting = false): void {
  const existing = tf.getKernel(config.kernelName, 'wasm');
  if (existing && !installed.has(config.kernelName)) {
    if (!replaceExisting) return;
    replaced.set(config.kernelName, existing);
  }
  if (existing) tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel(config);
  installed.add(config.kernelName);
}

/**
 * Registers the missing and the faster training kernels on wasm. Idempotent; a missing kernel
 * that wasm itself provides (a later tfjs release) is left alone. Returns the kernel names.
 */
export function registerWasmTrainingKernels(): string[] {
  for (const config of WASM_TRAINING_KERNELS) if (!installed.has(config.kernelName)) install(config);
  for (const config of WASM_FASTER_KERNELS) if (!installed.has(config.kernelName)) install(config, true);
  for (const name of WASM_BRIDGED_KERNELS) if (!installed.has(name)) install(cpuBridgeKernel(name));
  return [...installed];
}

/** Switches the training kernels between the fast route and the stock route (for comparison). */
export function useWasmTrainingKernels(route: WasmKernelRoute): void {
  registerWasmTrainingKernels();
  for (const config of WASM_TRAINING_KERNELS) {
    install(route === 'fast' ? config : cpuBridgeKernel(config.kernelName));
  }
  for (const config of WASM_FASTER_KERNELS) {
    install(route === 'fast' ? config : (replaced.get(config.kernelName) ?? config));
  }
}
