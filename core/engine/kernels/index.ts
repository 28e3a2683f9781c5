/**
 * Kernels that the wasm backend lacks for training, registered on top of it. Filled in by the
 * engine's kernel modules; see docs/engine.md.
 */
export function registerWasmTrainingKernels(): void {}
