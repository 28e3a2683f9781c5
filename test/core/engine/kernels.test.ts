import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../../core/engine/backend.js';
import {
  registerWasmTrainingKernels,
  useWasmTrainingKernels,
  WASM_FASTER_KERNELS,
  WASM_TRAINING_KERNELS,
} from '../../../core/engine/kernels/index.js';
import {
  conv2dFilterGradient,
  conv2dInputGradient,
  depthwiseFilterGradient,
  depthwiseInputGradient,
  geometry,
  randomArray,
  relativeError,
  segmentSum,
} from './reference.js';

const TOLERANCE = 1e-4;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs `build` on a backend and returns the values of the tensor it makes. */
async function valuesOn(backend: 'wasm' | 'cpu', build: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  try {
    const result = build();
    const values = (await result.data()) as Float32Array;
    result.dispose();
    return values;
  } finally {
    await tf.setBackend('wasm');
  }
}

type Inputs = Record<string, tf.Tensor>;

/**
 * A computation split into making its inputs and applying what is tested to them, so that the
 * leak check can hold the inputs fixed and count only what the computation itself leaves behind.
 */
interface Case {
  inputs: () => Inputs;
  apply: (inputs: Inputs) => tf.Tensor;
}

const once =
  ({ inputs, apply }: Case) =>
  () =>
    tf.tidy(() => apply(inputs()));

/** Same result on wasm (fast kernel), cpu (tfjs reference kernel) and the float64 formula. */
async function expectAgreement(computation: Case, expected: ArrayLike<number>, cpuIsReference = true): Promise<void> {
  const wasm = await valuesOn('wasm', once(computation));
  if (cpuIsReference) {
    const cpu = await valuesOn('cpu', once(computation));
    expect(relativeError(wasm, cpu)).toBeLessThanOrEqual(TOLERANCE);
  }
  expect(relativeError(wasm, expected)).toBeLessThanOrEqual(TOLERANCE);
}

/** Every tensor and every wasm buffer the computation makes is released with its result. */
function expectNoLeak({ inputs, apply }: Case): void {
  const fixed = inputs();
  apply(fixed).dispose();
  const tensors = tf.memory().numTensors;
  const buffers = tf.engine().backend.numDataIds();
  for (let round = 0; round < 3; round++) apply(fixed).dispose();
  expect(tf.memory().numTensors).toBe(tensors);
  expect(tf.engine().backend.numDataIds()).toBe(buffers);
  tf.dispose(fixed);
}

beforeAll(async () => {
  const choice = await initEngine('wasm');
  expect(choice.name).toBe('wasm');
});

describe('wasm training kernels', () => {
  it('fills the gradient kernels wasm lacks and replaces its slow one, idempotently', () => {
    const kernels = [...WASM_TRAINING_KERNELS, ...WASM_FASTER_KERNELS];
    expect(kernels.map((config) => config.kernelName)).toEqual([
      'Conv2DBackpropFilter',
      'DepthwiseConv2dNativeBackpropFilter',
      'DepthwiseConv2dNativeBackpropInput',
      'UnsortedSegmentSum',
      'Conv2DBackpropInput',
    ]);
    const first = registerWasmTrainingKernels();
    expect(registerWasmTrainingKernels()).toEqual(first);
    expect(first).toContain('Einsum');
    for (const config of kernels) {
      expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
    }
  });

  const convCases = [
    { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], stride: 1, pad: 'same' },
    { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], stride: 2, pad: 'same' },
    { x: [3, 9, 7, 2], filter: [3, 3, 2, 5], stride: 2, pad: 'valid' },
    { x: [1, 11, 10, 4], filter: [5, 3, 4, 2], stride: 1, pad: 'valid' },
    { x: [2, 7, 9, 3], filter: [2, 2, 3, 3], stride: 2, pad: 'same' },
    { x: [4, 6, 6, 5], filter: [1, 1, 5, 6], stride: 2, pad: 'valid' },
  ] as const;

  for (const c of convCases) {
    it(`Conv2DBackpropFilter x=${c.x} filter=${c.filter} stride ${c.stride} ${c.pad}`, async () => {
      const g = geometry([...c.x], [...c.filter], c.stride, c.pad);
      const outChannels = c.filter[3];
      const dyShape = [g.batch, g.outHeight, g.outWidth, outChannels];
      const x = randomArray(sizeOf(c.x), 1);
      const dy = randomArray(sizeOf(dyShape), 2);
      const computation: Case = {
        inputs: () => ({ x: tf.tensor(x, [...c.x]), dy: tf.tensor(dy, dyShape) }),
        apply: (inputs) =>
          tf.engine().runKernel('Conv2DBackpropFilter', inputs, {
            strides: [c.stride, c.stride],
            pad: c.pad,
            dataFormat: 'NHWC',
            filterShape: [...c.filter],
          }) as tf.Tensor,
      };
      await expectAgreement(computation, conv2dFilterGradient(g, x, dy, outChannels));
      expectNoLeak(computation);
    });

    it(`Conv2DBackpropInput x=${c.x} filter=${c.filter} stride ${c.stride} ${c.pad}`, async () => {
      const g = geometry([...c.x], [...c.filter], c.stride, c.pad);
      const outChannels = c.filter[3];
      const dyShape = [g.batch, g.outHeight, g.outWidth, outChannels];
      const dy = randomArray(sizeOf(dyShape), 14);
      const filter = randomArray(sizeOf(c.filter), 15);
      const computation: Case = {
        inputs: () => ({ dy: tf.tensor(dy, dyShape), filter: tf.tensor(filter, [...c.filter]) }),
        apply: (inputs) =>
          tf.engine().runKernel('Conv2DBackpropInput', inputs, {
            strides: [c.stride, c.stride],
            pad: c.pad,
            dataFormat: 'NHWC',
            inputShape: [...c.x],
          }) as tf.Tensor,
      };
      await expectAgreement(computation, conv2dInputGradient(g, dy, filter, outChannels));
      expectNoLeak(computation);
    });
  }

  it('Conv2DBackpropFilter accepts NCHW tensors', async () => {
    const g = geometry([2, 6, 7, 3], [3, 3], 2, 'same');
    const x = randomArray(2 * 6 * 7 * 3, 3);
    const dy = randomArray(g.batch * g.outHeight * g.outWidth * 4, 4);
    const nchw = (values: Float32Array, shape: number[]) => tf.transpose(tf.tensor(values, shape), [0, 3, 1, 2]);
    const computation: Case = {
      inputs: () => ({ x: nchw(x, [2, 6, 7, 3]), dy: nchw(dy, [2, g.outHeight, g.outWidth, 4]) }),
      apply: (inputs) =>
        tf.engine().runKernel('Conv2DBackpropFilter', inputs, {
          strides: [2, 2],
          pad: 'same',
          dataFormat: 'NCHW',
          filterShape: [3, 3, 3, 4],
        }) as tf.Tensor,
    };
    await expectAgreement(computation, conv2dFilterGradient(g, x, dy, 4));
    expectNoLeak(computation);
  });

  it('Conv2DBackpropInput accepts NCHW tensors', async () => {
    const g = geometry([2, 6, 7, 3], [3, 3], 2, 'same');
    const dy = randomArray(g.batch * g.outHeight * g.outWidth * 4, 16);
    const filter = randomArray(3 * 3 * 3 * 4, 17);
    const expected = conv2dInputGradient(g, dy, filter, 4);
    const computation: Case = {
      inputs: () => ({
        dy: tf.transpose(tf.tensor(dy, [2, g.outHeight, g.outWidth, 4]), [0, 3, 1, 2]),
        filter: tf.tensor(filter, [3, 3, 3, 4]),
      }),
      apply: (inputs) =>
        tf.tidy(() =>
          tf.transpose(
            tf.engine().runKernel('Conv2DBackpropInput', inputs, {
              strides: [2, 2],
              pad: 'same',
              dataFormat: 'NCHW',
              inputShape: [2, 3, 6, 7],
            }) as tf.Tensor,
            [0, 2, 3, 1],
          ),
        ),
    };
    await expectAgreement(computation, expected);
    expectNoLeak(computation);
  });

  const depthwiseCases = [
    { x: [2, 8, 8, 3], size: [3, 3], multiplier: 1, stride: 1, pad: 'same', dilation: 1 },
    { x: [2, 8, 8, 3], size: [3, 3], multiplier: 2, stride: 2, pad: 'same', dilation: 1 },
    { x: [3, 9, 7, 4], size: [3, 3], multiplier: 3, stride: 2, pad: 'valid', dilation: 1 },
    { x: [1, 10, 11, 2], size: [5, 3], multiplier: 2, stride: 1, pad: 'valid', dilation: 1 },
    { x: [2, 7, 9, 5], size: [2, 2], multiplier: 1, stride: 2, pad: 'same', dilation: 1 },
    { x: [2, 9, 9, 2], size: [3, 3], multiplier: 2, stride: 1, pad: 'same', dilation: 2 },
  ] as const;

  for (const c of depthwiseCases) {
    const label = `x=${c.x} filter=${c.size}×${c.multiplier} stride ${c.stride} ${c.pad} dilation ${c.dilation}`;
    const g = geometry([...c.x], [...c.size], c.stride, c.pad, c.dilation);
    const channels = c.x[3];
    const filterShape = [c.size[0], c.size[1], channels, c.multiplier];
    const dyShape = [g.batch, g.outHeight, g.outWidth, channels * c.multiplier];
    const x = randomArray(sizeOf(c.x), 5);
    const dy = randomArray(sizeOf(dyShape), 6);
    const filter = randomArray(sizeOf(filterShape), 7);
    const attrs = { strides: [c.stride, c.stride], pad: c.pad, dilations: [c.dilation, c.dilation] };
    // tfjs 4.22's cpu backprop kernels disagree with the formula for dilations > 1 (its own
    // gradients never pass them), so there the float64 formula alone is the reference.
    const cpuIsReference = c.dilation === 1;

    it(`DepthwiseConv2dNativeBackpropFilter ${label}`, async () => {
      const computation: Case = {
        inputs: () => ({ x: tf.tensor(x, [...c.x]), dy: tf.tensor(dy, dyShape) }),
        apply: (inputs) =>
          tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', inputs, { ...attrs, filterShape }) as tf.Tensor,
      };
      await expectAgreement(computation, depthwiseFilterGradient(g, x, dy, c.multiplier), cpuIsReference);
      expectNoLeak(computation);
    });

    it(`DepthwiseConv2dNativeBackpropInput ${label}`, async () => {
      const computation: Case = {
        inputs: () => ({ dy: tf.tensor(dy, dyShape), filter: tf.tensor(filter, filterShape) }),
        apply: (inputs) =>
          tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', inputs, {
            ...attrs,
            inputShape: [...c.x],
          }) as tf.Tensor,
      };
      await expectAgreement(computation, depthwiseInputGradient(g, dy, filter, c.multiplier), cpuIsReference);
      expectNoLeak(computation);
    });
  }

  const segmentCases = [
    { rows: 7, rowShape: [], ids: [1, 2, 0, 1, 4, 4, 1], segments: 5 },
    { rows: 6, rowShape: [3], ids: [0, 0, 2, 5, 2, 0], segments: 6 },
    { rows: 5, rowShape: [2, 3], ids: [3, 1, 3, 3, 0], segments: 4 },
    { rows: 6, rowShape: [4], ids: [-1, 2, 9, 2, 0, 3], segments: 4 },
  ];

  for (const c of segmentCases) {
    it(`UnsortedSegmentSum rows=${c.rows}×[${c.rowShape}] ids=${c.ids} segments=${c.segments}`, async () => {
      const xShape = [c.rows, ...c.rowShape];
      const x = randomArray(sizeOf(xShape), 8);
      const computation: Case = {
        inputs: () => ({ x: tf.tensor(x, xShape), ids: tf.tensor1d(c.ids, 'int32') }),
        apply: ({ x, ids }) => tf.unsortedSegmentSum(x!, ids as tf.Tensor1D, c.segments),
      };
      await expectAgreement(computation, segmentSum(x, c.ids, c.segments));
      expectNoLeak(computation);
    });
  }
});

/** Gradients of `loss` with respect to every input, flattened into one tensor. */
function flatGradients(loss: (...inputs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): tf.Tensor {
  return tf.tidy(() =>
    tf.concat(
      tf
        .grads(loss)(inputs)
        .map((gradient) => tf.reshape(gradient, [-1])),
    ),
  );
}

describe('gradients that use the wasm training kernels', () => {
  it("a small CNN with an embedding and a softmax cross-entropy loss has the cpu backend's gradients", async () => {
    const shapes: Record<string, number[]> = {
      x: [4, 12, 12, 2],
      conv: [3, 3, 2, 6],
      depthwise: [3, 3, 6, 2],
      gamma: [12],
      beta: [12],
      table: [9, 4],
      dense: [12 + 4, 5],
    };
    const values = Object.fromEntries(
      Object.entries(shapes).map(([name, shape], seed) => [name, randomArray(sizeOf(shape), 20 + seed)]),
    );
    const names = Object.keys(shapes);
    const tokens = [1, 8, 3, 3];
    const labels = [0, 4, 2, 1];
    const loss = (...params: tf.Tensor[]) => {
      const [x, conv, depthwise, gamma, beta, table, dense] = params as [
        tf.Tensor4D,
        tf.Tensor4D,
        tf.Tensor4D,
        ...tf.Tensor[],
      ];
      let h = tf.relu(tf.conv2d(x, conv, 1, 'same'));
      h = tf.maxPool(h, 2, 2, 'valid');
      h = tf.depthwiseConv2d(h, depthwise, 2, 'same');
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      h = tf.batchNorm(h, mean, variance, beta, gamma, 1e-3) as tf.Tensor4D;
      const pooled = tf.reshape(tf.avgPool(tf.relu(h), 3, 3, 'valid'), [4, 12]);
      const embedded = tf.gather(table!, tf.tensor1d(tokens, 'int32'));
      const logits = tf.matMul(tf.concat([pooled, embedded], 1), dense!);
      return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), 5), logits);
    };
    const computation: Case = {
      inputs: () => Object.fromEntries(names.map((name) => [name, tf.tensor(values[name]!, shapes[name])])),
      apply: (inputs) =>
        flatGradients(
          loss,
          names.map((name) => inputs[name]!),
        ),
    };
    const wasm = await valuesOn('wasm', once(computation));
    const cpu = await valuesOn('cpu', once(computation));
    expect(relativeError(wasm, cpu)).toBeLessThanOrEqual(TOLERANCE);
    expectNoLeak(computation);
  });

  it('an embedding table gradient (gather) matches the float64 segment sum', async () => {
    const ids = [3, 0, 3, 7, 1, 3];
    const upstream = randomArray(ids.length * 5, 12);
    const table = randomArray(8 * 5, 13);
    const computation: Case = {
      inputs: () => ({
        table: tf.tensor2d(table, [8, 5]),
        ids: tf.tensor1d(ids, 'int32'),
        upstream: tf.tensor2d(upstream, [ids.length, 5]),
      }),
      apply: ({ table, ids, upstream }) =>
        flatGradients((t) => tf.sum(tf.mul(tf.gather(t, ids!), upstream!)), [table!]),
    };
    await expectAgreement(computation, segmentSum(upstream, ids, 8));
    expectNoLeak(computation);
  });
});

describe('the stock route and the cpu bridge', () => {
  it('runs a kernel wasm lacks (Einsum) on the cpu backend over copies', async () => {
    const a = randomArray(3 * 4, 30);
    const b = randomArray(5 * 4, 31);
    const expected = Array.from({ length: 15 }, (_, k) => {
      const [i, j] = [Math.floor(k / 5), k % 5];
      let dot = 0;
      for (let d = 0; d < 4; d++) dot += a[i * 4 + d]! * b[j * 4 + d]!;
      return dot;
    });
    const computation: Case = {
      inputs: () => ({ a: tf.tensor2d(a, [3, 4]), b: tf.tensor2d(b, [5, 4]) }),
      apply: (inputs) => tf.einsum('ij,kj->ik', inputs.a!, inputs.b!),
    };
    expect(tf.getBackend()).toBe('wasm');
    await expectAgreement(computation, expected);
    const cpu = tf.findBackend('cpu');
    const cpuBuffers = cpu.numDataIds();
    expectNoLeak(computation);
    expect(cpu.numDataIds()).toBe(cpuBuffers);
  });

  it("gives the fast kernels' gradients with wasm's own and cpu-bridged kernels", async () => {
    const x = randomArray(2 * 9 * 9 * 3, 32);
    const filter = randomArray(3 * 3 * 3 * 4, 33);
    const computation: Case = {
      inputs: () => ({ x: tf.tensor(x, [2, 9, 9, 3]), filter: tf.tensor(filter, [3, 3, 3, 4]) }),
      apply: (inputs) =>
        flatGradients(
          (input, weights) => tf.sum(tf.square(tf.conv2d(input as tf.Tensor4D, weights as tf.Tensor4D, 2, 'same'))),
          [inputs.x!, inputs.filter!],
        ),
    };
    const ours = [...WASM_TRAINING_KERNELS, ...WASM_FASTER_KERNELS];
    const fast = await valuesOn('wasm', once(computation));
    useWasmTrainingKernels('stock');
    try {
      for (const config of ours)
        expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).not.toBe(config.kernelFunc);
      expect(relativeError(await valuesOn('wasm', once(computation)), fast)).toBeLessThanOrEqual(TOLERANCE);
      expectNoLeak(computation);
    } finally {
      useWasmTrainingKernels('fast');
    }
    for (const config of ours) expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
  });
});
