import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../../../core/engine/backend.js';
import { nativeKernelCalls } from '../../../../core/engine/native/kernels.js';
import {
  BATCH_NORM_TRAINING,
  BATCH_NORM_TRAINING_GRAD,
  RELU_GRAD,
} from '../../../../core/engine/native/training-kernels.js';
import { randomArray, relativeError } from '../reference.js';

const TOLERANCE = 1e-4;
const EPSILON = 0.001;
const MOMENTUM = 0.9;

/** Training-mode batch norm over the rows of `channels` values, in float64. */
function batchNormReference(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  scale: ArrayLike<number>,
  offset: ArrayLike<number>,
  channels: number,
) {
  const rows = x.length / channels;
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) mean[i % channels]! += x[i]! / rows;
  for (let i = 0; i < x.length; i++) variance[i % channels]! += (x[i]! - mean[i % channels]!) ** 2 / rows;
  const rsqrt = Float64Array.from(variance, (v) => 1 / Math.sqrt(v + EPSILON));
  const normalised = Float64Array.from(x, (v, i) => (v - mean[i % channels]!) * rsqrt[i % channels]!);
  const y = Float64Array.from(normalised, (v, i) => v * scale[i % channels]! + offset[i % channels]!);
  const dOffset = new Float64Array(channels);
  const dScale = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) {
    dOffset[i % channels]! += dy[i]!;
    dScale[i % channels]! += dy[i]! * normalised[i]!;
  }
  const dx = Float64Array.from(x, (_, i) => {
    const c = i % channels;
    return scale[c]! * rsqrt[c]! * (dy[i]! - dOffset[c]! / rows - (normalised[i]! * dScale[c]!) / rows);
  });
  return { mean, variance, y, dx, dScale, dOffset };
}

const callsOf = (kernel: string) => nativeKernelCalls().native[kernel] ?? 0;

beforeAll(async () => {
  expect((await initEngine('native')).name).toBe('native');
});

describe('training-mode batch norm on the native backend', () => {
  const shape = [3, 6, 5, 37];
  const channels = shape.at(-1)!;
  const count = shape.reduce((a, b) => a * b, 1);
  // A large common mean: the variance must not be lost to cancellation.
  const x = randomArray(count, 1).map((v, i) => v * (1 + (i % channels) / 10) + 50);
  const dy = randomArray(count, 2);
  const scale = randomArray(channels, 3).map((v) => v + 1.5);
  const offset = randomArray(channels, 4);

  /** One training-mode call of a batch-norm layer and its gradients on `backend`. */
  async function layerStep(backend: 'native' | 'cpu') {
    await tf.setBackend(backend);
    try {
      const layer = tf.layers.batchNormalization({ momentum: MOMENTUM, epsilon: EPSILON });
      layer.build(shape);
      const [, , movingMean, movingVariance] = layer.getWeights();
      const weights = [tf.tensor1d(scale), tf.tensor1d(offset), movingMean!, movingVariance!];
      layer.setWeights(weights);
      tf.dispose(weights.slice(0, 2));
      const input = tf.variable(tf.tensor(x, shape), true, `x-${backend}-${Math.random()}`);
      const calls = [BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD].map(callsOf);
      const [scaleVariable, offsetVariable] = layer.trainableWeights.map(
        (w) => (w as unknown as { val: tf.Variable }).val,
      );
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, tf.tensor(dy, shape))),
        [input, scaleVariable!, offsetVariable!],
      );
      const y = tf.tidy(() => layer.apply(input, { training: true }) as tf.Tensor);
      const result = {
        y: y.dataSync().slice(),
        dx: grads[input.name]!.dataSync().slice(),
        dScale: grads[scaleVariable!.name]!.dataSync().slice(),
        dOffset: grads[offsetVariable!.name]!.dataSync().slice(),
        moving: layer
          .getWeights()
          .slice(2)
          .map((w) => w.dataSync().slice()),
        ran: [BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD].map((kernel, i) => callsOf(kernel) - calls[i]!),
      };
      tf.dispose([value, y, input, ...Object.values(grads)]);
      layer.weights.forEach((w) => w.dispose());
      return result;
    } finally {
      await tf.setBackend('native');
    }
  }

  it('normalises with the batch moments, updates the moving averages, and differentiates as float64 loops do', async () => {
    const native = await layerStep('native');
    expect(native.ran).toEqual([2, 1]);
    const expected = batchNormReference(x, dy, scale, offset, channels);
    expect(relativeError(native.y, expected.y)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeError(native.dx, expected.dx)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeError(native.dScale, expected.dScale)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeError(native.dOffset, expected.dOffset)).toBeLessThanOrEqual(TOLERANCE);
    // Two training calls: moving = moving·m + batch·(1 − m), from 0 and 1.
    const twice = (start: number, batch: number) =>
      (start * MOMENTUM + batch * (1 - MOMENTUM)) * MOMENTUM + batch * (1 - MOMENTUM);
    expect(
      relativeError(
        native.moving[0]!,
        Array.from(expected.mean, (m) => twice(0, m)),
      ),
    ).toBeLessThanOrEqual(TOLERANCE);
    expect(
      relativeError(
        native.moving[1]!,
        Array.from(expected.variance, (v) => twice(1, v)),
      ),
    ).toBeLessThanOrEqual(TOLERANCE);
  });

  it("agrees with tfjs-layers' own route on the cpu backend, which does not run the native kernels", async () => {
    const native = await layerStep('native');
    const cpu = await layerStep('cpu');
    expect(cpu.ran).toEqual([0, 0]);
    for (const key of ['y', 'dx', 'dScale', 'dOffset'] as const)
      expect(relativeError(native[key], cpu[key]), key).toBeLessThanOrEqual(TOLERANCE);
    native.moving.forEach((m, i) => expect(relativeError(m, cpu.moving[i]!)).toBeLessThanOrEqual(TOLERANCE));
  });

  it("leaves other axes, and other backends, to tfjs-layers' own route", async () => {
    const before = callsOf(BATCH_NORM_TRAINING);
    tf.tidy(() => {
      tf.layers.batchNormalization({ axis: 1 }).apply(tf.tensor(x, shape), { training: true });
      tf.layers.batchNormalization().apply(tf.tensor(x, shape), { training: false });
    });
    await tf.setBackend('wasm');
    tf.tidy(() => {
      tf.layers.batchNormalization().apply(tf.tensor(x, shape), { training: true });
    });
    await tf.setBackend('native');
    expect(callsOf(BATCH_NORM_TRAINING)).toBe(before);
  });
});

describe('ReLU on the native backend', () => {
  it('keeps x where it is not negative (NaN included) in one native kernel when large, on wasm when small', () => {
    const count = 4 * 9 * 11 * 170;
    const x = randomArray(count, 10).map((v, i) => (i % 101 === 0 ? NaN : i % 103 === 0 ? 0 : v));
    const before = [nativeKernelCalls().native.Relu ?? 0, nativeKernelCalls().wasm.Relu ?? 0];
    const y = tf.tidy(() =>
      tf
        .relu(tf.tensor(x, [4, 9, 11, 170]))
        .dataSync()
        .slice(),
    );
    tf.tidy(() => tf.relu(tf.ones([8, 8])));
    expect([nativeKernelCalls().native.Relu, nativeKernelCalls().wasm.Relu]).toEqual([before[0]! + 1, before[1]! + 1]);
    expect([...y]).toEqual(Array.from(x, (v) => (v < 0 ? 0 : v)));
  });

  it('passes dy where x > 0 in its gradient, one native kernel, as a float64 loop does', () => {
    const shape = [4, 9, 11, 13];
    const count = shape.reduce((a, b) => a * b, 1);
    const x = randomArray(count, 7).map((v, i) => (i % 17 === 0 ? 0 : v));
    const dy = randomArray(count, 8);
    const before = callsOf(RELU_GRAD);
    const dx = tf.tidy(() =>
      tf
        .grad((input: tf.Tensor) => tf.sum(tf.mul(tf.relu(input), tf.tensor(dy, shape))))(tf.tensor(x, shape))
        .dataSync()
        .slice(),
    );
    expect(callsOf(RELU_GRAD)).toBe(before + 1);
    expect([...dx]).toEqual(Array.from(x, (v, i) => (v > 0 ? dy[i]! : 0)));
  });
});

describe('convolutions without bias or activation on the native backend', () => {
  const x = tf.tensor(randomArray(2 * 9 * 9 * 3, 11), [2, 9, 9, 3]);
  const filter = tf.tensor(randomArray(5 * 5 * 3 * 8, 12), [5, 5, 3, 8]);
  const dy = tf.tensor(randomArray(2 * 5 * 5 * 8, 13), [2, 5, 5, 8]);
  // As tfjs-layers calls it: no bias is null.
  const loss = (input: tf.Tensor, weights: tf.Tensor) =>
    tf.sum(
      tf.mul(
        tf.fused.conv2d({
          x: input as tf.Tensor4D,
          filter: weights as tf.Tensor4D,
          strides: 2,
          pad: 'same',
          bias: null as unknown as undefined,
        }),
        dy,
      ),
    );

  async function gradients(backend: 'native' | 'cpu', withInput: boolean) {
    await tf.setBackend(backend);
    try {
      const before = ['Conv2DBackpropInput', 'Conv2DBackpropFilter'].map(callsOf);
      const values = tf.tidy(() =>
        withInput
          ? tf
              .grads(loss)([x, filter])
              .map((g) => g.dataSync().slice())
          : [
              tf
                .grad((weights: tf.Tensor) => loss(x, weights))(filter)
                .dataSync()
                .slice(),
            ],
      );
      return { values, ran: ['Conv2DBackpropInput', 'Conv2DBackpropFilter'].map((k, i) => callsOf(k) - before[i]!) };
    } finally {
      await tf.setBackend('native');
    }
  }

  it("skip the input gradient nobody asks for (tfjs's fused op computes it eagerly), and agree with it", async () => {
    const filterOnly = await gradients('native', false);
    expect(filterOnly.ran).toEqual([0, 1]);
    const both = await gradients('native', true);
    expect(both.ran).toEqual([1, 1]);
    const cpu = await gradients('cpu', true);
    both.values.forEach((g, i) => expect(relativeError(g, cpu.values[i]!)).toBeLessThanOrEqual(TOLERANCE));
    expect(relativeError(filterOnly.values[0]!, cpu.values[1]!)).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('training kernels and memory', () => {
  it('leave no tensor and no heap buffer behind, forward and backward', () => {
    const input = tf.variable(tf.tensor(randomArray(2 * 4 * 4 * 6, 9), [2, 4, 4, 6]), true, 'leak-check-x');
    const layer = tf.layers.batchNormalization();
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() =>
          tf.sum(tf.relu(layer.apply(input, { training: true }) as tf.Tensor)),
        );
        return tf.addN([value, ...Object.values(grads).map((g) => tf.sum(g))]);
      });
    step().dispose();
    const tensors = tf.memory().numTensors;
    const buffers = tf.engine().backend.numDataIds();
    const before = [BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, RELU_GRAD].map(callsOf);
    for (let round = 0; round < 3; round++) step().dispose();
    expect([BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, RELU_GRAD].map(callsOf)).toEqual(before.map((n) => n + 3));
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(buffers);
    tf.dispose(input);
    layer.dispose();
  });
});
