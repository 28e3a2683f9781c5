import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../../core/engine/backend.js';
import { foldBatchNorm, inferencePlan, inferenceRows, inferenceRunner } from '../../../core/engine/inference.js';
import { FUSED_CONV_ADD } from '../../../core/engine/native/inference-kernels.js';
import { nativeKernelCalls } from '../../../core/engine/native/kernels.js';
import { FrozenBatchNormalization } from '../../../core/models/layers.js';
import { embedInChunks, type ModelInputs } from '../../../core/pipeline/model-inputs.js';
import { conv2dForward, depthwiseForward, geometry, randomArray, relativeError } from './reference.js';

const TOLERANCE = 1e-4;
const EPSILON = 0.001;

/** Random batch-norm weights [γ, β, moving mean, moving variance (positive)] for `channels`. */
function normWeights(channels: number, seed: number): tf.Tensor[] {
  return [
    tf.tensor1d(randomArray(channels, seed).map((v) => 1 + v / 2)),
    tf.tensor1d(randomArray(channels, seed + 1)),
    tf.tensor1d(randomArray(channels, seed + 2)),
    tf.tensor1d(randomArray(channels, seed + 3).map((v) => 0.5 + v * v)),
  ];
}

/** Gives every batch norm of `model` random inference statistics (fresh ones are the identity). */
function randomiseNorms(model: tf.LayersModel, seed: number): void {
  model.layers.forEach((layer, i) => {
    if (!layer.getClassName().endsWith('BatchNormalization')) return;
    const weights = normWeights(layer.getWeights()[0]!.shape[0], seed + 10 * i);
    layer.setWeights(weights);
    tf.dispose(weights);
  });
}

/** Inference-mode batch norm over the last axis, then `relu` if asked, in float64. */
function batchNormReference(y: Float64Array, weights: Float32Array[], relu: boolean): Float64Array {
  const [gamma, beta, mean, variance] = weights as [Float32Array, Float32Array, Float32Array, Float32Array];
  const channels = mean.length;
  return y.map((v, i) => {
    const c = i % channels;
    const out = ((v - mean[c]!) / Math.sqrt(variance[c]! + EPSILON)) * gamma[c]! + beta[c]!;
    return relu ? Math.max(0, out) : out;
  });
}

/** A residual block with a projection shortcut and a dense neck with batch norm: every fold the plan makes. */
function residualModel(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [7, 6, 3] });
  const conv = (filters: number, size: number, strides: number, useBias: boolean, seedOffset: number) =>
    tf.layers.conv2d({
      filters,
      kernelSize: size,
      strides,
      padding: 'same',
      useBias,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + seedOffset }),
      biasInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: seed + seedOffset + 1 }),
    });
  const bn = () => tf.layers.batchNormalization({ epsilon: EPSILON });
  const stem = tf.layers.reLU().apply(bn().apply(conv(4, 3, 1, true, 0).apply(input))) as tf.SymbolicTensor;
  const branch = bn().apply(conv(5, 3, 2, false, 2).apply(stem)) as tf.SymbolicTensor;
  const shortcut = bn().apply(conv(5, 1, 2, false, 4).apply(stem)) as tf.SymbolicTensor;
  const merged = tf.layers.reLU().apply(tf.layers.add().apply([branch, shortcut])) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(merged) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 6, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 6 }) });
  const output = bn().apply(dense.apply(pooled)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output });
  randomiseNorms(model, seed);
  return model;
}

const callsOf = (kernel: string) => nativeKernelCalls().native[kernel] ?? 0;

/** Values of `model` on the cpu backend through tfjs-layers' own inference route (the weights copied there). */
async function cpuPredict(model: tf.LayersModel, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const weights = model.getWeights().map((w) => ({ values: w.dataSync().slice(), shape: w.shape }));
  await tf.setBackend('cpu');
  try {
    const copy = tf.model({ inputs: model.inputs, outputs: model.outputs });
    const copied = weights.map((w) => tf.tensor(w.values, w.shape));
    copy.setWeights(copied);
    tf.dispose(copied);
    return tf.tidy(() => (copy.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync() as Float32Array);
  } finally {
    await tf.setBackend('native');
  }
}

beforeAll(async () => {
  expect((await initEngine('native')).name).toBe('native');
});

describe('foldBatchNorm', () => {
  it('matches a convolution then an inference-mode batch norm, in float64', () => {
    const g = geometry([2, 5, 4, 3], [3, 3], 1, 'same');
    const [x, kernel, bias] = [randomArray(2 * 5 * 4 * 3, 1), randomArray(3 * 3 * 3 * 4, 2), randomArray(4, 3)];
    const norm = normWeights(4, 4).map((t) => t.dataSync() as Float32Array);
    const [gamma, beta, mean, variance] = norm as [Float32Array, Float32Array, Float32Array, Float32Array];
    const folded = foldBatchNorm(kernel, bias, { gamma, beta, mean, variance, epsilon: EPSILON });
    const expected = batchNormReference(conv2dForward(g, x, kernel, 4, bias), norm, false);
    expect(relativeError(conv2dForward(g, x, folded.kernel, 4, folded.bias), expected)).toBeLessThanOrEqual(1e-6);
  });

  it('refuses a kernel whose size is not a multiple of the channels', () => {
    const vector = new Float32Array(3);
    expect(() =>
      foldBatchNorm(new Float32Array(10), undefined, { mean: vector, variance: vector, epsilon: 1 }),
    ).toThrow(/does not end in 3 output channels/);
  });
});

describe('inferencePlan', () => {
  it('folds conv + batch norm + ReLU into one native fused convolution, matching float64', () => {
    const input = tf.input({ shape: [5, 4, 3] });
    const convLayer = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', biasInitializer: 'ones' });
    const output = tf.layers
      .reLU()
      .apply(tf.layers.batchNormalization({ epsilon: EPSILON }).apply(convLayer.apply(input))) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    randomiseNorms(model, 5);
    const plan = inferencePlan(model)!;
    expect(plan.steps).toEqual(['FoldedConv2D+BatchNormalization+relu']);
    const x = randomArray(2 * 5 * 4 * 3, 6);
    const [kernel, bias] = convLayer.getWeights().map((w) => w.dataSync() as Float32Array);
    const norms = model.layers[2]!.getWeights().map((w) => w.dataSync() as Float32Array);
    const expected = batchNormReference(
      conv2dForward(geometry([2, 5, 4, 3], [3, 3], 1, 'same'), x, kernel!, 4, bias),
      norms,
      true,
    );
    const [fused, norm, relu] = [callsOf('FusedConv2D'), callsOf('FusedBatchNorm'), callsOf('Relu')];
    const xs = tf.tensor4d(x, [2, 5, 4, 3]);
    const actual = plan.predict(xs);
    expect(relativeError(actual.dataSync(), expected)).toBeLessThanOrEqual(TOLERANCE);
    expect(callsOf('FusedConv2D')).toBe(fused + 1);
    expect([callsOf('FusedBatchNorm'), callsOf('Relu')]).toEqual([norm, relu]);
    tf.dispose([xs, actual]);
    plan.dispose();
    model.dispose();
  });

  it('folds a depthwise convolution with ReLU6 after its batch norm, matching float64', () => {
    const input = tf.input({ shape: [6, 5, 3] });
    const depthwise = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same' });
    const output = tf.layers
      .reLU({ maxValue: 6 })
      .apply(tf.layers.batchNormalization({ epsilon: EPSILON }).apply(depthwise.apply(input))) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    randomiseNorms(model, 7);
    const plan = inferencePlan(model)!;
    expect(plan.steps).toEqual(['FoldedDepthwiseConv2D+BatchNormalization+relu6']);
    const x = randomArray(2 * 6 * 5 * 3, 8).map((v) => v * 8);
    const [kernel, bias] = depthwise.getWeights().map((w) => w.dataSync() as Float32Array);
    const norms = model.layers[2]!.getWeights().map((w) => w.dataSync() as Float32Array);
    const y = depthwiseForward(geometry([2, 6, 5, 3], [3, 3], 2, 'same'), x, kernel!, 2, bias);
    const expected = batchNormReference(y, norms, true).map((v) => Math.min(6, v));
    const before = callsOf('FusedDepthwiseConv2D');
    const actual = tf.tidy(() => plan.predict(tf.tensor4d(x, [2, 6, 5, 3])).dataSync());
    expect(relativeError(actual, expected)).toBeLessThanOrEqual(TOLERANCE);
    expect(callsOf('FusedDepthwiseConv2D')).toBe(before + 1);
    plan.dispose();
    model.dispose();
  });

  it('folds a frozen batch norm (a pretrained network’s) too', async () => {
    const input = tf.input({ shape: [4, 4, 2] });
    const conv = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', useBias: false });
    const frozen = new FrozenBatchNormalization({}); // epsilon 0.001, as EPSILON
    const output = tf.layers.reLU().apply(frozen.apply(conv.apply(input))) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    randomiseNorms(model, 21);
    const plan = inferencePlan(model)!;
    expect(plan.steps).toEqual(['FoldedConv2D+BatchNormalization+relu']);
    const x = randomArray(2 * 4 * 4 * 2, 22);
    const actual = tf.tidy(() => plan.predict(tf.tensor4d(x, [2, 4, 4, 2])).dataSync());
    expect(relativeError(actual, await cpuPredict(model, x, [2, 4, 4, 2]))).toBeLessThanOrEqual(TOLERANCE);
    plan.dispose();
    model.dispose();
  });

  it('runs a residual graph like tfjs-layers on the cpu backend, and leaks nothing', async () => {
    const model = residualModel(11);
    const plan = inferencePlan(model)!;
    expect(plan.steps).toEqual([
      'FoldedConv2D+BatchNormalization+relu',
      'FoldedConv2D+BatchNormalization', // the shortcut, run before the branch that adds it
      'FoldedConv2D+BatchNormalization+Add+relu',
      'GlobalAveragePooling2D',
      'FoldedDense+BatchNormalization',
    ]);
    const x = randomArray(3 * 7 * 6 * 3, 12);
    const expected = await cpuPredict(model, x, [3, 7, 6, 3]);
    const xs = tf.tensor4d(x, [3, 7, 6, 3]);
    plan.predict(xs).dispose(); // makes the folded weights
    const [tensors, added] = [tf.memory().numTensors, callsOf(FUSED_CONV_ADD)];
    const actual = plan.predict(xs);
    expect(relativeError(actual.dataSync(), expected)).toBeLessThanOrEqual(TOLERANCE);
    expect(callsOf(FUSED_CONV_ADD)).toBe(added + 1);
    actual.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    await tf.setBackend('cpu'); // the plan's route without the native kernels
    try {
      const onCpu = tf.tidy(() => plan.predict(tf.tensor4d(x, [3, 7, 6, 3])).dataSync());
      expect(relativeError(onCpu, expected)).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      await tf.setBackend('native');
    }
    expect(callsOf(FUSED_CONV_ADD)).toBe(added + 1);
    plan.dispose();
    xs.dispose();
    expect(tf.memory().numTensors).toBe(tensors - 9); // the input, 4 folded kernels and biases
    model.dispose();
  });

  it('refolds when the weights change (training, setWeights)', async () => {
    const model = residualModel(13);
    const plan = inferencePlan(model)!;
    const x = randomArray(2 * 7 * 6 * 3, 14);
    const first = tf.tidy(() => plan.predict(tf.tensor4d(x, [2, 7, 6, 3])).dataSync());
    randomiseNorms(model, 99);
    const expected = await cpuPredict(model, x, [2, 7, 6, 3]);
    const second = tf.tidy(() => plan.predict(tf.tensor4d(x, [2, 7, 6, 3])).dataSync());
    expect(relativeError(second, expected)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeError(first, expected)).toBeGreaterThan(0.01);
    plan.dispose();
    model.dispose();
  });

  it('leaves a batch norm unfolded when its input is read elsewhere too, or follows an activation', async () => {
    const input = tf.input({ shape: [4] });
    const hidden = tf.layers.dense({ units: 3, activation: 'relu' }).apply(input) as tf.SymbolicTensor;
    const normed = tf.layers.batchNormalization({ epsilon: EPSILON }).apply(hidden) as tf.SymbolicTensor;
    const output = tf.layers.add().apply([normed, hidden]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    randomiseNorms(model, 15);
    const plan = inferencePlan(model)!;
    expect(plan.steps).toEqual(['Dense', 'BatchNormalization', 'Add']);
    const x = randomArray(5 * 4, 16);
    const actual = tf.tidy(() => plan.predict(tf.tensor2d(x, [5, 4])).dataSync());
    expect(relativeError(actual, await cpuPredict(model, x, [5, 4]))).toBeLessThanOrEqual(TOLERANCE);
    plan.dispose();
    model.dispose();
  });

  it('runs a layer that passes its input through (Dropout in inference) without releasing what it returns', async () => {
    const input = tf.input({ shape: [4] });
    const dropped = tf.layers.dropout({ rate: 0.5 }).apply(input) as tf.SymbolicTensor;
    const hidden = tf.layers.dense({ units: 3 }).apply(dropped) as tf.SymbolicTensor;
    const output = tf.layers.dropout({ rate: 0.5 }).apply(hidden) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    const plan = inferencePlan(model)!;
    expect(plan.steps).toEqual(['Dropout', 'Dense', 'Dropout']);
    const x = randomArray(5 * 4, 23);
    const xs = tf.tensor2d(x, [5, 4]);
    const tensors = tf.memory().numTensors;
    const actual = plan.predict(xs);
    expect(relativeError(actual.dataSync(), await cpuPredict(model, x, [5, 4]))).toBeLessThanOrEqual(TOLERANCE);
    expect(xs.isDisposed).toBe(false);
    actual.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose(xs);
    plan.dispose();
    model.dispose();
  });

  it('has no plan for a model of two inputs, or one no layer computes (model.predict runs them)', () => {
    const [a, b] = [tf.input({ shape: [3] }), tf.input({ shape: [3] })];
    const model = tf.model({ inputs: [a, b], outputs: tf.layers.add().apply([a, b]) as tf.SymbolicTensor });
    expect(inferencePlan(model)).toBeUndefined();
    model.dispose();
    const identity = tf.model({ inputs: a, outputs: a });
    expect(inferencePlan(identity)).toBeUndefined(); // no step makes the output
    identity.dispose();
  });
});

describe('inferenceRunner', () => {
  it('runs large inputs in slices of inferenceRows rows, as one batch would, and leaks nothing', () => {
    expect(inferenceRows([256, 64, 64, 3])).toBe(256);
    expect(inferenceRows([256, 224, 224, 3])).toBe(27);
    expect(inferenceRows([2, 5000, 5000, 3])).toBe(1);
    expect(inferenceRows([30, 7, 6, 3], 8 * 7 * 6 * 3 + 5)).toBe(8);
    const model = residualModel(17);
    const big = tf.randomUniform([30, 7, 6, 3]);
    const whole = tf.tidy(() => (model.predict(big, { batchSize: 30 }) as tf.Tensor).dataSync());
    for (const maxValues of [undefined, 8 * 7 * 6 * 3]) {
      const runner = inferenceRunner(model, maxValues);
      runner.predict(big).dispose(); // makes the folded weights
      const [tensors, slices] = [tf.memory().numTensors, callsOf(FUSED_CONV_ADD)];
      const actual = tf.tidy(() => runner.predict(big).dataSync());
      expect(relativeError(actual, whole)).toBeLessThanOrEqual(TOLERANCE);
      expect(callsOf(FUSED_CONV_ADD) - slices).toBe(maxValues ? 4 : 1);
      expect(tf.memory().numTensors).toBe(tensors);
      runner.dispose();
    }
    tf.dispose(big);
    model.dispose();
  });
});

describe('embedInChunks through the plan', () => {
  it('gives the embeddings of model.predict, normalised, and leaks nothing', async () => {
    const model = residualModel(19);
    const count = 300;
    const data = randomArray(count * 7 * 6 * 3, 20);
    const inputs: ModelInputs = {
      kind: 'input',
      shape: { height: 7, width: 6, channels: 3 },
      trainingData: () => {
        throw new Error('not trained');
      },
      views: (chunk) => {
        const start = Number(chunk[0]!.id);
        return Promise.resolve([
          tf.tensor4d(data.subarray(start * 126, (start + chunk.length) * 126), [chunk.length, 7, 6, 3]),
        ]);
      },
    };
    const items = Array.from({ length: count }, (_, i) => ({ id: String(i), labels: [], extra: {} }));
    const tensors = tf.memory().numTensors;
    const [folded, added] = [callsOf('FusedConv2D'), callsOf(FUSED_CONV_ADD)];
    const vectors = new Float32Array(count * 6);
    await embedInChunks(model, items, inputs, (start, values) => vectors.set(values, start * 6));
    expect(tf.memory().numTensors).toBe(tensors);
    // Per chunk (two), the stem and the shortcut as fused convolutions, the branch with its add in one kernel.
    expect([callsOf('FusedConv2D') - folded, callsOf(FUSED_CONV_ADD) - added]).toEqual([4, 2]);
    const raw = tf.tidy(() => (model.predict(tf.tensor4d(data, [count, 7, 6, 3])) as tf.Tensor2D).arraySync());
    const expected = raw.flatMap((row) => {
      const norm = Math.sqrt(row.reduce((sum, v) => sum + v * v, 0));
      return row.map((v) => v / norm);
    });
    expect(relativeError(vectors, expected)).toBeLessThanOrEqual(TOLERANCE);
    model.dispose();
  });
});
