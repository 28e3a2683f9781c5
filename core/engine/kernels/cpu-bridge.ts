import * as tf from '@tensorflow/tfjs';

type Info = tf.TensorInfo;

/**
 * A wasm kernel that copies its inputs to the cpu backend, runs the cpu kernel there and copies
 * the outputs back: correct for any kernel the cpu backend has, but as slow as that kernel.
 * Used for rarely needed kernels wasm lacks, and as the reference route in bench/engine.ts.
 */
export function cpuBridgeKernel(kernelName: string): tf.KernelConfig {
  const cpuKernel = tf.getKernel(kernelName, 'cpu');
  if (!cpuKernel) throw new Error(`the cpu backend has no ${kernelName} kernel to bridge`);
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend: wasmBackend }) => {
      const backend = wasmBackend as tf.KernelBackend;
      const cpu = tf.findBackend('cpu');
      if (!cpu) throw new Error('the cpu backend is not registered');
      const copy = (info: Info, from: tf.KernelBackend, to: tf.KernelBackend): Info => ({
        dataId: to.write(from.readSync(info.dataId), info.shape, info.dtype),
        shape: info.shape,
        dtype: info.dtype,
      });
      const present = (info: Info | undefined): info is Info => info !== undefined && info !== null;
      const cpuInputs = Array.isArray(inputs)
        ? (inputs as Info[]).map((info) => copy(info, backend, cpu))
        : Object.fromEntries(
            Object.entries(inputs as Record<string, Info | undefined>)
              .filter((entry): entry is [string, Info] => present(entry[1]))
              .map(([name, info]) => [name, copy(info, backend, cpu)]),
          );
      const result = cpuKernel.kernelFunc({ inputs: cpuInputs as tf.NamedTensorInfoMap, attrs, backend: cpu });
      const cpuOutputs = Array.isArray(result) ? result : [result];
      const outputs = cpuOutputs.map((info) => copy(info, cpu, backend));
      for (const info of [...Object.values(cpuInputs), ...cpuOutputs]) cpu.disposeData(info.dataId);
      return Array.isArray(result) ? outputs : outputs[0]!;
    },
  };
}
