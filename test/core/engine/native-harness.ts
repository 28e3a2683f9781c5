// What the native engine's kernel tests share: running a computation on one backend and checking that a kernel ran
// natively and agrees with a float64 reference and the cpu backend.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { nativeKernelCalls } from '../../../core/engine/native/kernels.js';
import { randomArray, relativeError } from './reference.js';

export const TOLERANCE = 1e-4;
export type Backend = 'native' | 'wasm' | 'cpu';

/** Values of what `build` makes on `backend`, and how often each native kernel ran meanwhile. */
export async function run(
  backend: Backend,
  build: () => tf.Tensor,
): Promise<{ values: Float32Array; native: Record<string, number>; wasm: Record<string, number> }> {
  await tf.setBackend(backend);
  const before = nativeKernelCalls();
  try {
    const result = tf.tidy(build);
    const values = (await result.data()) as Float32Array;
    result.dispose();
    const after = nativeKernelCalls();
    const delta = (a: Record<string, number>, b: Record<string, number>) =>
      Object.fromEntries(
        Object.entries(a)
          .map(([k, v]) => [k, v - (b[k] ?? 0)] as const)
          .filter(([, v]) => v !== 0),
      );
    return { values, native: delta(after.native, before.native), wasm: delta(after.wasm, before.wasm) };
  } finally {
    await tf.setBackend('native');
  }
}

/**
 * The native result ran through `kernel` natively and agrees with the float64 formula and (unless `cpu` is false: the
 * cpu backend's kernel is wrong there) with the cpu backend.
 */
export async function expectNative(
  kernel: string,
  build: () => tf.Tensor,
  expected: ArrayLike<number>,
  { cpu: compareCpu = true } = {},
): Promise<void> {
  const native = await run('native', build);
  expect(native.native[kernel], `${kernel} ran natively`).toBeGreaterThan(0);
  expect(native.wasm[kernel]).toBeUndefined();
  expect(relativeError(native.values, expected)).toBeLessThanOrEqual(TOLERANCE);
  if (!compareCpu) return;
  const cpu = await run('cpu', build);
  expect(relativeError(native.values, cpu.values)).toBeLessThanOrEqual(TOLERANCE);
}

export const tensor = (shape: number[], seed: number) =>
  tf.tensor(
    randomArray(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );

/**
 * The gradients of one training step (softmax cross-entropy, training mode) of the network `build` makes on `backend`,
 * on seeded inputs of `inputShape` with `labels`, in the order of its trainable weights.
 */
export async function stepGradients(
  backend: Backend,
  build: () => tf.LayersModel,
  inputShape: number[],
  labels: number[],
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const model = build();
  const x = tensor(inputShape, 7);
  const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), model.outputs[0]!.shape.at(-1)!);
  const { grads, value } = tf.variableGrads(
    () => tf.losses.softmaxCrossEntropy(oneHot, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
    model.trainableWeights.map((w) => w.read() as tf.Variable),
  );
  const values = await Promise.all(
    model.trainableWeights.map((w) => grads[(w.read() as tf.Variable).name]!.data() as Promise<Float32Array>),
  );
  tf.dispose([x, oneHot, value, grads]);
  model.dispose();
  await tf.setBackend('native');
  return values;
}
