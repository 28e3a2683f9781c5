/**
 * Kernel times between two points of a running program, per kernel name: tf.profile started at
 * one point and stopped at another (so it can wrap one step inside a loop the caller does not own).
 * tf.profile also lists the kernels that run inside other kernels (simkit's wasm training kernels
 * are built from ops, and so is an op with a custom gradient); those are left out, so that the times
 * add up: a kernel's time includes the kernels inside it.
 */
import * as tf from '@tensorflow/tfjs';

export interface KernelTotal {
  readonly name: string;
  calls: number;
  ms: number;
}

export interface KernelProfile {
  /** Per kernel name, slowest first; only kernels called from outside any kernel. */
  readonly kernels: readonly KernelTotal[];
  /** Calls whose backend reported no time. */
  readonly untimed: number;
}

export interface KernelProfiling {
  stop(): Promise<KernelProfile>;
}

/** Starts recording kernels now; `stop()` ends the recording and totals it. One at a time. */
export function startKernelProfile(): KernelProfiling {
  const engine = tf.engine();
  let stop!: () => void;
  const profiling = tf.profile(() => new Promise<void>((resolve) => (stop = resolve)));
  // tf.profile has just made its kernel list: mark the kernels pushed while inside another kernel.
  const nested = new WeakSet<object>();
  const kernels = engine.state.activeProfile.kernels;
  const push = kernels.push.bind(kernels);
  kernels.push = (...infos) => {
    if (engine.state.kernelDepth > 0) infos.forEach((info) => nested.add(info));
    return push(...infos);
  };
  return {
    async stop() {
      stop();
      const info = await profiling;
      const totals = new Map<string, KernelTotal>();
      let untimed = 0;
      for (const kernel of info.kernels) {
        if (nested.has(kernel)) continue;
        if (typeof kernel.kernelTimeMs !== 'number') {
          untimed += 1;
          continue;
        }
        const total = totals.get(kernel.name) ?? { name: kernel.name, calls: 0, ms: 0 };
        total.calls += 1;
        total.ms += kernel.kernelTimeMs;
        totals.set(kernel.name, total);
      }
      return { kernels: [...totals.values()].sort((a, b) => b.ms - a.ms), untimed };
    },
  };
}
