import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUSED_ADAM, FusedAdamOptimizer } from '../../../core/engine/adam.js';
import { initEngine } from '../../../core/engine/backend.js';
import { loadNativeAddon } from '../../../core/engine/native/addon.js';
import { BATCH_NORM_GRAD } from '../../../core/engine/native/gradients.js';
import { nativeKernelCalls } from '../../../core/engine/native/kernels.js';
import { type Backend, expectNative, run, stepGradients, tensor, TOLERANCE } from './native-harness.js';
import {
  avgPool,
  batchMatMul,
  conv2dFilterGradient,
  conv2dForward,
  conv2dInputGradient,
  geometry,
  maxPool,
  randomArray,
  relativeError,
} from './reference.js';

beforeAll(async () => {
  const choice = await initEngine('native');
  expect(choice.name).toBe('native');
});

describe('native matmul', () => {
  const cases = [
    { a: [5, 7], b: [7, 3], transposeA: false, transposeB: false },
    { a: [7, 5], b: [3, 7], transposeA: true, transposeB: true },
    { a: [3, 5, 7], b: [3, 3, 7], transposeA: false, transposeB: true },
    { a: [3, 7, 1], b: [3, 7, 4], transposeA: true, transposeB: false },
    { a: [2, 3, 5, 7], b: [7, 1], transposeA: false, transposeB: false },
    { a: [1, 1, 9], b: [4, 9, 6], transposeA: false, transposeB: false },
  ];
  it.each(cases)(
    '$a × $b (transposes $transposeA, $transposeB) matches float64 and the cpu backend',
    async ({ a, b, transposeA, transposeB }) => {
      const [ra, rb] = [a.length, b.length];
      const m = a[transposeA ? ra - 1 : ra - 2]!;
      const k = a[transposeA ? ra - 2 : ra - 1]!;
      const n = b[transposeB ? rb - 2 : rb - 1]!;
      const batchA = a.slice(0, -2).reduce((x, y) => x * y, 1);
      const batchB = b.slice(0, -2).reduce((x, y) => x * y, 1);
      const expected = batchMatMul(randomArray(batchA * m * k, 1), randomArray(batchB * k * n, 2), {
        batchA,
        batchB,
        m,
        n,
        k,
        transposeA,
        transposeB,
      });
      await expectNative('BatchMatMul', () => tf.matMul(tensor(a, 1), tensor(b, 2), transposeA, transposeB), expected);
    },
  );

  it.each(['linear', 'relu', 'relu6', 'leakyrelu', 'sigmoid', 'elu'] as const)(
    'fuses a bias and the %s activation',
    async (activation) => {
      const plain = batchMatMul(randomArray(6 * 8, 1), randomArray(8 * 5, 2), {
        batchA: 1,
        batchB: 1,
        m: 6,
        n: 5,
        k: 8,
        transposeA: false,
        transposeB: false,
      });
      const bias = randomArray(5, 3);
      const act = {
        linear: (x: number) => x,
        relu: (x: number) => Math.max(x, 0),
        relu6: (x: number) => Math.min(Math.max(x, 0), 6),
        leakyrelu: (x: number) => (x > 0 ? x : 0.2 * x),
        sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
        elu: (x: number) => (x > 0 ? x : Math.exp(x) - 1),
      }[activation];
      const expected = plain.map((x, i) => act(x + bias[i % 5]!));
      await expectNative(
        '_FusedMatMul',
        () => tf.fused.matMul({ a: tensor([6, 8], 1), b: tensor([8, 5], 2), bias: tensor([5], 3), activation }),
        expected,
      );
    },
  );
});

describe('native convolutions', () => {
  const cases = [
    { x: [1, 5, 5, 1], f: [3, 3], out: 4, stride: 1, pad: 'same' as const, dilation: 1 },
    { x: [3, 9, 7, 3], f: [3, 3], out: 5, stride: 2, pad: 'same' as const, dilation: 1 },
    { x: [2, 8, 8, 4], f: [3, 3], out: 6, stride: 2, pad: 'valid' as const, dilation: 1 },
    { x: [2, 9, 9, 2], f: [3, 3], out: 3, stride: 1, pad: 'valid' as const, dilation: 2 },
    { x: [2, 7, 6, 3], f: [5, 3], out: 2, stride: 1, pad: 'same' as const, dilation: 1 },
    { x: [2, 6, 6, 8], f: [1, 1], out: 4, stride: 2, pad: 'valid' as const, dilation: 1 },
  ];
  for (const c of cases) {
    const g = geometry(c.x, c.f, c.stride, c.pad, c.dilation);
    const filterShape = [...c.f, c.x[3]!, c.out];
    const inputSize = c.x.reduce((a, b) => a * b, 1);
    const outShape: [number, number, number, number] = [c.x[0]!, g.outHeight, g.outWidth, c.out];
    const label = `x ${c.x}, filter ${filterShape}, stride ${c.stride}, ${c.pad}, dilation ${c.dilation}`;
    const conv = (x: tf.Tensor, f: tf.Tensor) =>
      tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation);

    it(`forward: ${label}`, async () => {
      const expected = conv2dForward(
        g,
        randomArray(inputSize, 1),
        randomArray(
          filterShape.reduce((a, b) => a * b, 1),
          2,
        ),
        c.out,
      );
      await expectNative('Conv2D', () => conv(tensor(c.x, 1), tensor(filterShape, 2)), expected);
    });

    it(`fused bias + relu: ${label}`, async () => {
      const plain = conv2dForward(
        g,
        randomArray(inputSize, 1),
        randomArray(
          filterShape.reduce((a, b) => a * b, 1),
          2,
        ),
        c.out,
        randomArray(c.out, 3),
      );
      const build = () =>
        tf.fused.conv2d({
          x: tensor(c.x, 1) as tf.Tensor4D,
          filter: tensor(filterShape, 2) as tf.Tensor4D,
          strides: c.stride,
          pad: c.pad,
          dilations: c.dilation,
          bias: tensor([c.out], 3),
          activation: 'relu',
        });
      await expectNative(
        'FusedConv2D',
        build,
        plain.map((v) => Math.max(v, 0)),
      );
    });

    if (c.dilation === 1) {
      const dy = randomArray(
        outShape.reduce((a, b) => a * b, 1),
        4,
      );
      it(`input and filter gradients: ${label}`, async () => {
        const input = conv2dInputGradient(
          g,
          dy,
          randomArray(
            filterShape.reduce((a, b) => a * b, 1),
            2,
          ),
          c.out,
        );
        await expectNative(
          'Conv2DBackpropInput',
          () =>
            tf.conv2dTranspose(
              tf.tensor(dy, outShape) as tf.Tensor4D,
              tensor(filterShape, 2) as tf.Tensor4D,
              c.x as [number, number, number, number],
              c.stride,
              c.pad,
            ),
          input,
        );
        const filter = conv2dFilterGradient(g, randomArray(inputSize, 1), dy, c.out);
        const grad = () =>
          tf.grad((f: tf.Tensor) => conv(tensor(c.x, 1), f).mul(tf.tensor(dy, outShape)).sum())(tensor(filterShape, 2));
        await expectNative('Conv2DBackpropFilter', grad, filter);
      });
    }
  }
});

describe('native pooling', () => {
  const cases = [
    { x: [2, 8, 8, 3], size: 2, stride: 2, pad: 'valid' as const },
    { x: [1, 7, 5, 2], size: 3, stride: 2, pad: 'same' as const },
    { x: [3, 6, 6, 4], size: 3, stride: 1, pad: 'same' as const },
  ];
  for (const c of cases) {
    const g = geometry(c.x, [c.size, c.size], c.stride, c.pad);
    const inputSize = c.x.reduce((a, b) => a * b, 1);
    const outShape = [c.x[0]!, g.outHeight, g.outWidth, c.x[3]!];
    const dy = randomArray(
      outShape.reduce((a, b) => a * b, 1),
      5,
    );
    const label = `x ${c.x}, window ${c.size}, stride ${c.stride}, ${c.pad}`;
    const grad = (pool: (x: tf.Tensor4D) => tf.Tensor) => () =>
      tf.grad((x: tf.Tensor) =>
        pool(x as tf.Tensor4D)
          .mul(tf.tensor(dy, outShape))
          .sum(),
      )(tensor(c.x, 1));

    it(`max pool and its gradient: ${label}`, async () => {
      const expected = maxPool(g, randomArray(inputSize, 1), dy);
      const pool = (x: tf.Tensor4D) => tf.maxPool(x, c.size, c.stride, c.pad);
      await expectNative('MaxPool', () => pool(tensor(c.x, 1) as tf.Tensor4D), expected.y);
      await expectNative('MaxPoolGrad', grad(pool), expected.dx);
    });

    it(`average pool and its gradient: ${label}`, async () => {
      const expected = avgPool(g, randomArray(inputSize, 1), dy);
      const pool = (x: tf.Tensor4D) => tf.avgPool(x, c.size, c.stride, c.pad);
      await expectNative('AvgPool', () => pool(tensor(c.x, 1) as tf.Tensor4D), expected.y);
      await expectNative('AvgPoolGrad', grad(pool), expected.dx);
    });
  }
});

describe('native reductions and arithmetic (large float32 tensors)', () => {
  const shape = [4, 10, 10, 170];
  const count = shape.reduce((a, b) => a * b, 1);
  const x = randomArray(count, 1);

  it.each([
    ['Sum', [0, 1, 2], false],
    ['Mean', [0, 1, 2], true],
    ['Sum', [0, 1, 2, 3], false],
    ['Mean', [0], true],
  ] as const)('%s over axes %j, keeping dims', async (kernel, axes, mean) => {
    const rows = shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
    const cols = count / rows;
    const expected = new Float64Array(cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) expected[c]! += x[r * cols + c]! / (mean ? rows : 1);
    const build = () => (mean ? tf.mean : tf.sum)(tf.tensor(x, shape), [...axes], true);
    await expectNative(kernel, build, expected);
    const native = await run('native', build);
    expect(native.values.length).toBe(cols);
  });

  it.each([
    [
      [1, 1, 1, 170],
      [4, 10, 10, 1],
    ],
    [
      [1, 170, 10],
      [40, 1, 1],
    ],
    [
      [1, 68000],
      [3, 1],
    ],
  ])('Tile of %j by %j repeats the block along leading axes', async (inputShape, reps) => {
    const block = x.slice(
      0,
      inputShape.reduce((a, b) => a * b, 1),
    );
    const copies = reps.reduce((a, b) => a * b, 1);
    const expected = Float64Array.from({ length: block.length * copies }, (_, i) => block[i % block.length]!);
    await expectNative('Tile', () => tf.tile(tf.tensor(block, inputShape), reps), expected);
  });

  it.each([true, false])('FusedBatchNorm normalises each channel (scale and offset: %s)', async (affine) => {
    const [mean, variance, offset, scale] = [
      randomArray(170, 5),
      randomArray(170, 6).map((v) => v + 1.5),
      randomArray(170, 7),
      randomArray(170, 8),
    ];
    const expected = x.map((v, i) => {
      const c = i % 170;
      return ((v - mean[c]!) * (affine ? scale[c]! : 1)) / Math.sqrt(variance[c]! + 0.001) + (affine ? offset[c]! : 0);
    });
    const vector = (values: Float32Array) => tf.tensor1d(values);
    const build = () =>
      tf.batchNorm(
        tf.tensor(x, shape),
        vector(mean),
        vector(variance),
        affine ? vector(offset) : undefined,
        affine ? vector(scale) : undefined,
        0.001,
      );
    await expectNative('FusedBatchNorm', build, expected);
  });

  // With scale and offset: tfjs cannot differentiate batchNorm without a scale on any backend.
  it("FusedBatchNorm's gradients in one native kernel, as tfjs's composite gradient on the cpu backend", async () => {
    const vectors = {
      mean: randomArray(170, 5),
      variance: randomArray(170, 6).map((v) => v + 1.5),
      offset: randomArray(170, 7),
      scale: randomArray(170, 8),
    };
    const dy = randomArray(count, 9);
    const gradients = async (backend: Backend) => {
      await tf.setBackend(backend);
      const before = nativeKernelCalls().native[BATCH_NORM_GRAD] ?? 0;
      const names = ['mean', 'variance', 'offset', 'scale'] as const;
      const values = tf.tidy(() => {
        const inputs = [tf.tensor(x, shape), ...names.map((name) => tf.tensor1d(vectors[name]))];
        const f = (input: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, offset?: tf.Tensor, scale?: tf.Tensor) =>
          tf
            .batchNorm(
              input,
              mean as tf.Tensor1D,
              variance as tf.Tensor1D,
              offset as tf.Tensor1D | undefined,
              scale as tf.Tensor1D | undefined,
              0.001,
            )
            .mul(tf.tensor(dy, shape))
            .sum();
        return tf
          .grads(f as (...args: tf.Tensor[]) => tf.Tensor)(inputs)
          .map((g) => g.dataSync().slice());
      });
      const ran = (nativeKernelCalls().native[BATCH_NORM_GRAD] ?? 0) - before;
      await tf.setBackend('native');
      return { values, ran };
    };
    const native = await gradients('native');
    expect(native.ran).toBe(1);
    const cpu = await gradients('cpu');
    expect(cpu.ran).toBe(0);
    native.values.forEach((g, i) =>
      expect(relativeError(g, cpu.values[i]!), `gradient ${i}`).toBeLessThanOrEqual(TOLERANCE),
    );
  });

  it.each([[[0, 1, 2]], [[0]], [[1, 3]]])(
    "Mean's gradient over axes %j is dy / n spread over them, as on the cpu backend",
    async (axes) => {
      const dy = randomArray(count, 9);
      const build = () =>
        tf.grad((input: tf.Tensor) =>
          tf
            .mean(input, axes, true)
            .mul(
              tf.tensor(
                dy.slice(0, count / axes.reduce((n, a) => n * shape[a]!, 1)),
                shape.map((d, i) => (axes.includes(i) ? 1 : d)),
              ),
            )
            .sum(),
        )(tf.tensor(x, shape));
      const native = await run('native', build);
      const cpu = await run('cpu', build);
      expect(relativeError(native.values, cpu.values)).toBeLessThanOrEqual(TOLERANCE);
      // Leading axes take the one-pass route (a native Tile); others keep tfjs's gradient.
      expect(native.native.Tile ?? 0).toBe(axes.includes(0) && axes.every((_, i) => axes.includes(i)) ? 1 : 0);
    },
  );

  it('leaves reductions over other axes, and small ones, to wasm', async () => {
    const inner = await run('native', () => tf.sum(tf.tensor(x, shape), [1, 3]));
    expect(inner.wasm.Sum).toBe(1);
    const small = await run('native', () => tf.sum(tf.tensor(x.slice(0, 1000), [10, 100]), 0));
    expect(small.wasm.Sum).toBe(1);
    expect(small.native.Sum).toBeUndefined();
  });

  const ops = {
    Add: (a: number, b: number) => a + b,
    Sub: (a: number, b: number) => a - b,
    Multiply: (a: number, b: number) => a * b,
    RealDiv: (a: number, b: number) => a / b,
    SquaredDifference: (a: number, b: number) => (a - b) ** 2,
  } as const;
  const apply = {
    Add: tf.add,
    Sub: tf.sub,
    Multiply: tf.mul,
    RealDiv: tf.div,
    SquaredDifference: tf.squaredDifference,
  } as const;
  for (const [kernel, f] of Object.entries(ops) as [keyof typeof ops, (a: number, b: number) => number][]) {
    it(`${kernel}: same shapes, a per-channel vector on either side, and a scalar`, async () => {
      const y = randomArray(count, 2).map((v) => v + 2);
      const channel = randomArray(170, 3).map((v) => v + 2);
      await expectNative(
        kernel,
        () => apply[kernel](tf.tensor(x, shape), tf.tensor(y, shape)),
        x.map((v, i) => f(v, y[i]!)),
      );
      await expectNative(
        kernel,
        () => apply[kernel](tf.tensor(x, shape), tf.tensor(channel, [1, 1, 1, 170])),
        x.map((v, i) => f(v, channel[i % 170]!)),
      );
      await expectNative(
        kernel,
        () => apply[kernel](tf.tensor(channel, [170]), tf.tensor(y, shape)),
        y.map((v, i) => f(channel[i % 170]!, v)),
      );
      await expectNative(
        kernel,
        () => apply[kernel](tf.scalar(3), tf.tensor(y, shape)),
        y.map((v) => f(3, v)),
      );
    });
  }
});

describe('what the native path does not cover', () => {
  it.each([
    [
      '_FusedMatMul',
      () =>
        tf.fused.matMul({
          a: tensor([4, 6], 1),
          b: tensor([6, 3], 2),
          activation: 'prelu',
          preluActivationWeights: tensor([3], 3),
        }),
    ],
    [
      'FusedConv2D',
      () =>
        tf.fused.conv2d({
          x: tensor([2, 5, 5, 3], 1) as tf.Tensor4D,
          filter: tensor([3, 3, 3, 4], 2) as tf.Tensor4D,
          strides: 1,
          pad: 'same',
          activation: 'prelu',
          preluActivationWeights: tensor([4], 3),
        }),
    ],
  ] as const)(
    "falls back to the wasm %s kernel for a PReLU activation, with the cpu backend's result",
    async (kernel, build) => {
      const native = await run('native', build);
      expect(native.wasm[kernel]).toBe(1);
      expect(native.native[kernel]).toBeUndefined();
      expect(relativeError(native.values, (await run('cpu', build)).values)).toBeLessThanOrEqual(TOLERANCE);
    },
  );

  it('turns a bad native call into an error that names the kernel, never an abort', () => {
    const { addon } = loadNativeAddon();
    const heap = new ArrayBuffer(64);
    expect(() => addon!.matmul(heap, 0, 0, -1, 1 << 20, 1, 1, 4, 4, 4, 0, 0, 0, 0)).toThrow(
      'simkit engine: matmul output lies outside the tensor heap',
    );
    expect(() => addon!.avgPool(heap, 0, 0, 1, 0, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0)).toThrow('invalid pooling geometry');
    expect(() => addon!.maxPool(heap, 0, 0, 1, 0, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0)).toThrow(
      /^simkit engine: maxPool failed in oneDNN \(status -?\d+\)/,
    );
    expect(() => addon!.setThreads(0)).toThrow('threads must be between 1 and 1024');
    expect(() => (addon!.matmul as unknown as (h: unknown) => void)('not a heap')).toThrow(
      'the first argument must be the tensor heap',
    );
  });

  it('reports oneDNN, the instruction set it dispatched and the thread count', () => {
    const info = loadNativeAddon().addon!.info();
    expect(info.onednn).toMatch(/^\d+\.\d+\.\d+$/);
    expect(info.isa).not.toBe('other');
    expect(info.threads).toBeGreaterThanOrEqual(1);
  });
});

/** A small CNN with batch norm, seeded: the same weights on every backend. */
function smallNetwork(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [12, 12, 2],
        filters: 6,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: init(1),
      }),
      tf.layers.batchNormalization(),
      tf.layers.reLU(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.averagePooling2d({ poolSize: 2, padding: 'same' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, kernelInitializer: init(3) }),
    ],
  });
}

const trainingGradients = (backend: Backend) => stepGradients(backend, smallNetwork, [4, 12, 12, 2], [0, 3, 1, 4]);

describe('training on the native backend', () => {
  it("computes a whole step's gradients as the wasm route does (≤ 1e-4 relative), through native kernels", async () => {
    const before = nativeKernelCalls().native;
    const native = await trainingGradients('native');
    const after = nativeKernelCalls().native;
    for (const kernel of [
      'Conv2D',
      'Conv2DBackpropInput',
      'Conv2DBackpropFilter',
      'MaxPool',
      'MaxPoolGrad',
      'AvgPool',
      'AvgPoolGrad',
    ]) {
      expect(after[kernel] ?? 0, kernel).toBeGreaterThan(before[kernel] ?? 0);
    }
    const wasm = await trainingGradients('wasm');
    expect(native).toHaveLength(wasm.length);
    native.forEach((gradient, i) =>
      expect(relativeError(gradient, wasm[i]!), `gradient ${i}`).toBeLessThanOrEqual(TOLERANCE),
    );
  });

  it("takes Adam's steps as tf.AdamOptimizer does, in one fused kernel", async () => {
    const steps = async (backend: Backend, make: () => tf.Optimizer) => {
      await tf.setBackend(backend);
      const weights = tf.variable(tensor([300, 7], 11), true, `adam-${backend}`);
      const optimizer = make();
      for (let step = 0; step < 5; step++) {
        tf.tidy(() => optimizer.applyGradients({ [weights.name]: tensor([300, 7], 20 + step).mul(10 ** (step - 2)) }));
      }
      const values = (await weights.data()) as Float32Array;
      const moments = await Promise.all(
        (await optimizer.getWeights()).map(async (w) => [
          w.name.replace(/adam-\w+/, 'w'),
          [...(await w.tensor.data())],
        ]),
      );
      weights.dispose();
      optimizer.dispose();
      await tf.setBackend('native');
      return { values, moments };
    };
    const before = nativeKernelCalls().native[FUSED_ADAM] ?? 0;
    const fused = await steps('native', () => new FusedAdamOptimizer(0.01, 0.9, 0.999));
    expect(nativeKernelCalls().native[FUSED_ADAM]).toBe(before + 5);
    const reference = await steps('wasm', () => tf.train.adam(0.01));
    expect(relativeError(fused.values, reference.values)).toBeLessThanOrEqual(1e-6);
    expect(fused.moments.map(([name]) => name)).toEqual(reference.moments.map(([name]) => name));
  });
});

describe('native memory and reproducibility', () => {
  /** `steps` Adam steps of the small network on fixed data; returns the weights and what was held every 100 steps. */
  async function train(
    steps: number,
  ): Promise<{ weights: Float32Array[]; tensors: number[]; buffers: number[]; rss: number[] }> {
    const model = smallNetwork();
    const optimizer = new FusedAdamOptimizer(1e-3, 0.9, 0.999);
    const x = tensor([4, 12, 12, 2], 7);
    const labels = tf.oneHot(tf.tensor1d([0, 3, 1, 4], 'int32'), 5);
    const held = { tensors: [] as number[], buffers: [] as number[], rss: [] as number[] };
    for (let step = 1; step <= steps; step++) {
      optimizer
        .minimize(
          () => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        )
        ?.dispose();
      if (step % 100 === 0) {
        held.tensors.push(tf.memory().numTensors);
        held.buffers.push(tf.engine().backend.numDataIds());
        // Memory outside V8's heap: the addon's and oneDNN's allocations, the wasm heap. (tfjs-layers' own
        // JavaScript objects grow by about 19 KB a step in model.apply on every backend, wasm included.)
        const { rss, heapTotal } = process.memoryUsage();
        held.rss.push(rss - heapTotal);
      }
    }
    const weights = await Promise.all(model.getWeights().map((w) => w.data() as Promise<Float32Array>));
    tf.dispose([x, labels]);
    optimizer.dispose();
    model.dispose();
    return { weights, ...held };
  }

  it('holds no more tensors, heap buffers or native memory after 1,000 training steps than after 200', async () => {
    const { tensors, buffers, rss } = await train(1000);
    expect(new Set(tensors.slice(1)).size).toBe(1);
    expect(new Set(buffers.slice(1)).size).toBe(1);
    // Resident memory settles once the heap and oneDNN's primitive cache have grown to size.
    expect(rss.at(-1)! - rss[1]!).toBeLessThan(8 * 2 ** 20);
  });

  it('trains to the same weights twice with the same seed and thread count', async () => {
    const first = await train(30);
    const second = await train(30);
    first.weights.forEach((w, i) => expect([...second.weights[i]!]).toEqual([...w]));
  });

  it('leaves no tensor and no heap buffer behind in native kernels and their gradients', () => {
    const x = tensor([2, 8, 8, 3], 1);
    const f = tensor([3, 3, 3, 4], 2);
    const step = () =>
      tf.tidy(() => {
        const loss = (input: tf.Tensor, filter: tf.Tensor) =>
          tf
            .avgPool(
              tf.maxPool(tf.conv2d(input as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same'), 2, 2, 'valid'),
              2,
              1,
              'same',
            )
            .sum();
        const [dx, df] = tf.grads(loss)([x, f]);
        return tf.addN([
          dx!.sum(),
          df!.sum(),
          tf.matMul(tf.reshape(x, [16, 24]), tf.reshape(x, [16, 24]), true, false).sum(),
        ]);
      });
    step().dispose();
    const tensors = tf.memory().numTensors;
    const buffers = tf.engine().backend.numDataIds();
    for (let round = 0; round < 3; round++) step().dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(buffers);
    tf.dispose([x, f]);
  });
});
