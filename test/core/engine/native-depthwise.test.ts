import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../../core/engine/backend.js';
import { nativeKernelCalls } from '../../../core/engine/native/kernels.js';
import { type Backend, expectNative, run, stepGradients, tensor, TOLERANCE } from './native-harness.js';
import {
  depthwiseFilterGradient,
  depthwiseForward,
  depthwiseInputGradient,
  geometry,
  randomArray,
  relativeError,
} from './reference.js';

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

beforeAll(async () => {
  const choice = await initEngine('native');
  expect(choice.name).toBe('native');
});

describe('native depthwise convolution', () => {
  const cases = [
    { x: [2, 7, 7, 4], f: [3, 3], multiplier: 1, stride: 1, pad: 'same' as const, dilation: 1 },
    { x: [2, 8, 8, 6], f: [3, 3], multiplier: 1, stride: 2, pad: 'same' as const, dilation: 1 },
    { x: [1, 9, 7, 3], f: [3, 3], multiplier: 1, stride: 2, pad: 'same' as const, dilation: 1 },
    { x: [3, 6, 6, 5], f: [3, 3], multiplier: 1, stride: 1, pad: 'valid' as const, dilation: 1 },
    { x: [2, 8, 6, 4], f: [5, 5], multiplier: 1, stride: 1, pad: 'same' as const, dilation: 1 },
    { x: [2, 10, 9, 3], f: [3, 2], multiplier: 1, stride: 2, pad: 'valid' as const, dilation: 1 },
    { x: [2, 6, 6, 3], f: [3, 3], multiplier: 2, stride: 1, pad: 'same' as const, dilation: 1 },
    { x: [2, 7, 8, 2], f: [3, 3], multiplier: 3, stride: 2, pad: 'same' as const, dilation: 1 },
    { x: [2, 9, 9, 2], f: [3, 3], multiplier: 1, stride: 1, pad: 'valid' as const, dilation: 2 },
    { x: [1, 8, 8, 3], f: [3, 3], multiplier: 2, stride: 1, pad: 'same' as const, dilation: 2 },
    // A MobileNetV2 layer's shape at a small batch: enough work for the thread team.
    { x: [4, 28, 28, 64], f: [3, 3], multiplier: 1, stride: 1, pad: 'same' as const, dilation: 1 },
  ];
  for (const c of cases) {
    const g = geometry(c.x, c.f, c.stride, c.pad, c.dilation);
    const filterShape = [...c.f, c.x[3]!, c.multiplier];
    const outShape = [c.x[0]!, g.outHeight, g.outWidth, c.x[3]! * c.multiplier];
    const [x, filter, dy] = [
      randomArray(count(c.x), 1),
      randomArray(count(filterShape), 2),
      randomArray(count(outShape), 4),
    ];
    const label = `x ${c.x}, filter ${filterShape}, stride ${c.stride}, ${c.pad}, dilation ${c.dilation}`;
    const attrs = { strides: c.stride, pad: c.pad, dilations: c.dilation, dataFormat: 'NHWC' };
    // tfjs's cpu depthwise gradients ignore dilations; there the float64 formula is the only reference.
    const cpu = c.dilation === 1;

    it(`forward: ${label}`, async () => {
      await expectNative(
        'DepthwiseConv2dNative',
        () =>
          tf.depthwiseConv2d(
            tensor(c.x, 1) as tf.Tensor4D,
            tensor(filterShape, 2) as tf.Tensor4D,
            c.stride,
            c.pad,
            'NHWC',
            c.dilation,
          ),
        depthwiseForward(g, x, filter, c.multiplier),
      );
    });

    it(`fused bias + relu6: ${label}`, async () => {
      const bias = randomArray(outShape[3]!, 3);
      const build = () =>
        tf.fused.depthwiseConv2d({
          x: tensor(c.x, 1) as tf.Tensor4D,
          filter: tensor(filterShape, 2) as tf.Tensor4D,
          strides: c.stride,
          pad: c.pad,
          dilations: c.dilation,
          bias: tf.tensor1d(bias),
          activation: 'relu6',
        });
      const expected = depthwiseForward(g, x, filter, c.multiplier, bias).map((v) => Math.min(Math.max(v, 0), 6));
      await expectNative('FusedDepthwiseConv2D', build, expected);
    });

    it(`input and filter gradients: ${label}`, async () => {
      await expectNative(
        'DepthwiseConv2dNativeBackpropInput',
        () =>
          tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropInput',
              { dy: tf.tensor(dy, outShape), filter: tensor(filterShape, 2) },
              { ...attrs, inputShape: c.x },
            ) as tf.Tensor,
        depthwiseInputGradient(g, dy, filter, c.multiplier),
        { cpu },
      );
      await expectNative(
        'DepthwiseConv2dNativeBackpropFilter',
        () =>
          tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropFilter',
              { x: tensor(c.x, 1), dy: tf.tensor(dy, outShape) },
              { ...attrs, filterShape },
            ) as tf.Tensor,
        depthwiseFilterGradient(g, x, dy, c.multiplier),
        { cpu },
      );
    });
  }

  it("takes both gradients natively through tf.grad of tfjs's depthwiseConv2d", async () => {
    const g = geometry([2, 9, 9, 8], [3, 3], 2, 'same');
    const outShape = [2, g.outHeight, g.outWidth, 8];
    const dy = randomArray(count(outShape), 4);
    const loss = (input: tf.Tensor, filter: tf.Tensor) =>
      tf
        .depthwiseConv2d(input as tf.Tensor4D, filter as tf.Tensor4D, 2, 'same')
        .mul(tf.tensor(dy, outShape))
        .sum();
    const [x, filter] = [randomArray(2 * 9 * 9 * 8, 1), randomArray(3 * 3 * 8, 2)];
    await expectNative(
      'DepthwiseConv2dNativeBackpropInput',
      () => tf.grads(loss)([tensor([2, 9, 9, 8], 1), tensor([3, 3, 8, 1], 2)])[0]!,
      depthwiseInputGradient(g, dy, filter, 1),
    );
    await expectNative(
      'DepthwiseConv2dNativeBackpropFilter',
      () => tf.grads(loss)([tensor([2, 9, 9, 8], 1), tensor([3, 3, 8, 1], 2)])[1]!,
      depthwiseFilterGradient(g, x, dy, 1),
    );
  });

  it("falls back to the wasm FusedDepthwiseConv2D for a PReLU activation, with the cpu backend's result", async () => {
    const build = () =>
      tf.fused.depthwiseConv2d({
        x: tensor([2, 5, 5, 3], 1) as tf.Tensor4D,
        filter: tensor([3, 3, 3, 1], 2) as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        activation: 'prelu',
        preluActivationWeights: tensor([3], 3),
      });
    const native = await run('native', build);
    expect(native.wasm.FusedDepthwiseConv2D).toBe(1);
    expect(native.native.FusedDepthwiseConv2D).toBeUndefined();
    expect(relativeError(native.values, (await run('cpu', build)).values)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('turns a bad geometry into an error that names the kernel', async () => {
    const heap = new ArrayBuffer(1 << 16);
    const { loadNativeAddon } = await import('../../../core/engine/native/addon.js');
    const addon = loadNativeAddon().addon!;
    // 3 input channels, 4 output channels: not a whole multiplier.
    const geometry = [1, 4, 4, 3, 4, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1];
    expect(() => addon.depthwiseConv2d(heap, 0, 1024, -1, 2048, ...geometry, 0, 0)).toThrow(
      /simkit engine: depthwiseConv2d failed: .*multiple of its input channels/,
    );
    expect(() =>
      addon.depthwiseConv2dBackpropFilter(
        heap,
        0,
        1024,
        1 << 20,
        ...[1, 4, 4, 3, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1],
      ),
    ).toThrow('simkit engine: depthwiseConv2dBackpropFilter dw lies outside the tensor heap');
  });
});

/** A MobileNetV2 inverted residual block (expand 1×1 → depthwise 3×3 → project 1×1, batch norms, ReLU6), seeded. */
function invertedResidual(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const inputs = tf.input({ shape: [10, 10, 4] });
  let h = tf.layers
    .conv2d({ filters: 12, kernelSize: 1, useBias: false, kernelInitializer: init(1) })
    .apply(inputs) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU({ maxValue: 6 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers
    .depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init(2) })
    .apply(h) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU({ maxValue: 6 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers
    .conv2d({ filters: 4, kernelSize: 1, useBias: false, kernelInitializer: init(3) })
    .apply(h) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
  const out = tf.layers.add().apply([inputs, h]) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(out) as tf.SymbolicTensor;
  return tf.model({
    inputs,
    outputs: tf.layers.dense({ units: 3, kernelInitializer: init(4) }).apply(pooled) as tf.SymbolicTensor,
  });
}

describe('depthwise convolutions in training on the native backend', () => {
  const gradients = (backend: Backend) => stepGradients(backend, invertedResidual, [3, 10, 10, 4], [0, 2, 1]);

  it("computes an inverted residual block's gradients as the wasm route does, through the native depthwise kernels", async () => {
    const before = nativeKernelCalls();
    const native = await gradients('native');
    const after = nativeKernelCalls();
    for (const kernel of [
      'DepthwiseConv2dNative',
      'DepthwiseConv2dNativeBackpropInput',
      'DepthwiseConv2dNativeBackpropFilter',
    ]) {
      expect(after.native[kernel] ?? 0, kernel).toBeGreaterThan(before.native[kernel] ?? 0);
      expect(after.wasm[kernel] ?? 0, kernel).toBe(before.wasm[kernel] ?? 0);
    }
    const wasm = await gradients('wasm');
    expect(native).toHaveLength(wasm.length);
    native.forEach((gradient, i) =>
      expect(relativeError(gradient, wasm[i]!), `gradient ${i}`).toBeLessThanOrEqual(TOLERANCE),
    );
  });

  it('leaves no tensor and no heap buffer behind in the depthwise kernels and their gradients', () => {
    const x = tensor([2, 8, 8, 6], 1);
    const f = tensor([3, 3, 6, 2], 2);
    const bias = tensor([12], 3);
    const step = () =>
      tf.tidy(() => {
        const loss = (input: tf.Tensor, filter: tf.Tensor) =>
          tf.fused
            .depthwiseConv2d({
              x: input as tf.Tensor4D,
              filter: filter as tf.Tensor4D,
              strides: 2,
              pad: 'same',
              bias,
              activation: 'relu',
            })
            .add(tf.depthwiseConv2d(input as tf.Tensor4D, filter as tf.Tensor4D, 2, 'same'))
            .sum();
        const [dx, df] = tf.grads(loss)([x, f]);
        return tf.addN([dx!.sum(), df!.sum()]);
      });
    step().dispose();
    const tensors = tf.memory().numTensors;
    const buffers = tf.engine().backend.numDataIds();
    for (let round = 0; round < 3; round++) step().dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(buffers);
    tf.dispose([x, f, bias]);
  });
});
