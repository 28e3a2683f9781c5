import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterKernel } from './conv2d-backprop-filter.js';
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

/** Kernels wasm lacks that are rarely on a hot path: they run on the cpu backend over copies. */
export const WASM_BRIDGED_KERNELS: readonly string[] = ['Einsum'];

/** How the training kernels above run: `fast` (wasm ops) or `cpu-copy` (the cpu kernel over copies). */
export type WasmKernelRoute = 'fast' | 'cpu-copy';

/** Names this module registered, so that switching routes never replaces a kernel wasm ships. */
const installed = new Set<string>();

function install(config: tf.KernelConfig): void {
  if (installed.has(config.kernelName)) tf.unregisterKernel(config.kernelName, 'wasm');
  else if (tf.getKernel(config.kernelName, 'wasm')) return;
  tf.registerKernel(config);
  installed.add(config.kernelName);
}

/**
 * Registers the missing training kernels on wasm. Idempotent; a kernel that wasm itself provides
 * (a later tfjs release) is left alone.
 */
export function registerWasmTrainingKernels(): string[] {
  for (const config of WASM_TRAINING_KERNELS) if (!installed.has(config.kernelName)) install(config);
  for (const name of WASM_BRIDGED_KERNELS) if (!installed.has(name)) install(cpuBridgeKernel(name));
  return [...installed];
}

/** Switches the training kernels between the fast route and the cpu-copy route (for comparison). */
export function useWasmTrainingKernels(route: WasmKernelRoute): void {
  for (const config of WASM_TRAINING_KERNELS) {
    install(route === 'fast' ? config : cpuBridgeKernel(config.kernelName));
  }
}
