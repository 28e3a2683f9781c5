import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../../../core/engine/backend.js';
import { loadNativeAddon, type NativeEngineAddon } from '../../../../core/engine/native/addon.js';
import {
  applyPrecision,
  nativePrecision,
  parsePrecision,
  setNativePrecision,
  withPrecision,
} from '../../../../core/engine/native/precision.js';
import { UserError } from '../../../../core/errors.js';
import { run } from '../native-harness.js';
import {
  batchMatMul,
  conv2dFilterGradient,
  conv2dForward,
  conv2dInputGradient,
  geometry,
  randomArray,
  relativeError,
} from '../reference.js';

/**
 * Inputs rounded to bf16 (round to nearest even, as oneDNN converts) make the kernel's conversion exact, and the
 * product of two bf16 values (8-bit significands) is exact in f32: what remains is f32 accumulation, as in the f32
 * kernels' tests. Unrounded inputs lose up to 2^-9 of each factor, so their error is bf16's, far above this bound.
 */
const ROUNDED_TOLERANCE = 1e-4;
/** Two factors each off by ≤ 2^-9 relative: a sum's error is ≤ 2^-8 of Σ|a·b|, a few times the largest output here. */
const BF16_TOLERANCE = 2 ** -8 * 4;

function bf16(values: Float32Array): Float32Array {
  const bits = new Uint32Array(values.buffer.slice(0));
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    bits[i] = ((b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000) >>> 0;
  }
  return new Float32Array(bits.buffer);
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const rounded = (shape: number[], seed: number) => bf16(randomArray(size(shape), seed));

let addon: NativeEngineAddon;

beforeAll(async () => {
  expect((await initEngine('native')).name).toBe('native');
  addon = loadNativeAddon().addon!;
  expect(addon.bf16Support().supported, 'this CPU runs bf16 convolutions natively').toBe(true);
  setNativePrecision('bf16', addon);
});

afterAll(() => setNativePrecision('f32', addon));

/** Runs `build` on the native backend in bf16: its values, and how many bf16 kernel calls ran (none declined). */
async function inBf16(kernel: string, build: () => tf.Tensor) {
  const before = addon.bf16Stats();
  const result = await run('native', build);
  const after = addon.bf16Stats();
  expect(result.native[kernel], `${kernel} ran natively`).toBeGreaterThan(0);
  expect(after.declined - before.declined).toBe(0);
  return { values: result.values, bf16Runs: after.runs - before.runs };
}

describe('bf16 convolutions on the native backend', () => {
  const cases = [
    { x: [2, 9, 7, 16], f: [3, 3], out: 32, stride: 1, pad: 'same' as const },
    { x: [3, 8, 8, 32], f: [3, 3], out: 16, stride: 2, pad: 'same' as const },
    { x: [2, 12, 12, 3], f: [7, 7], out: 16, stride: 2, pad: 'same' as const },
    { x: [2, 6, 6, 32], f: [1, 1], out: 64, stride: 2, pad: 'valid' as const },
  ];
  for (const c of cases) {
    const g = geometry(c.x, c.f, c.stride, c.pad);
    const filterShape: [number, number, number, number] = [c.f[0]!, c.f[1]!, c.x[3]!, c.out];
    const outShape: [number, number, number, number] = [c.x[0]!, g.outHeight, g.outWidth, c.out];
    const label = `x ${c.x}, filter ${filterShape}, stride ${c.stride}, ${c.pad}`;
    const [x, f, dy] = [rounded(c.x, 1), rounded(filterShape, 2), rounded(outShape, 3)];
    const conv = (input: tf.Tensor, filter: tf.Tensor) =>
      tf.conv2d(input as tf.Tensor4D, filter as tf.Tensor4D, c.stride, c.pad);

    it(`forward, input gradient and filter gradient in bf16: ${label}`, async () => {
      const forward = await inBf16('Conv2D', () => conv(tf.tensor(x, c.x), tf.tensor(f, filterShape)));
      expect(forward.bf16Runs).toBe(1);
      expect(relativeError(forward.values, conv2dForward(g, x, f, c.out))).toBeLessThanOrEqual(ROUNDED_TOLERANCE);

      const input = await inBf16('Conv2DBackpropInput', () =>
        tf.conv2dTranspose(
          tf.tensor(dy, outShape) as tf.Tensor4D,
          tf.tensor(f, filterShape) as tf.Tensor4D,
          c.x as [number, number, number, number],
          c.stride,
          c.pad,
        ),
      );
      expect(input.bf16Runs).toBe(1);
      expect(relativeError(input.values, conv2dInputGradient(g, dy, f, c.out))).toBeLessThanOrEqual(ROUNDED_TOLERANCE);

      const filter = await inBf16('Conv2DBackpropFilter', () =>
        tf.grad((w: tf.Tensor) => conv(tf.tensor(x, c.x), w).mul(tf.tensor(dy, outShape)).sum())(
          tf.tensor(f, filterShape),
        ),
      );
      expect(filter.bf16Runs).toBe(2);
      expect(relativeError(filter.values, conv2dFilterGradient(g, x, dy, c.out))).toBeLessThanOrEqual(
        ROUNDED_TOLERANCE,
      );
    });
  }

  it('rounds unrounded f32 inputs to bf16: the error is bf16-sized, not f32-sized', async () => {
    const g = geometry([2, 8, 8, 32], [3, 3], 1, 'same');
    const [x, f] = [randomArray(2 * 8 * 8 * 32, 5), randomArray(3 * 3 * 32 * 32, 6)];
    const { values } = await inBf16('Conv2D', () => conv2dOf(x, f));
    const error = relativeError(values, conv2dForward(g, x, f, 32));
    expect(error).toBeGreaterThan(1e-4);
    expect(error).toBeLessThanOrEqual(BF16_TOLERANCE);
  });

  const conv2dOf = (x: Float32Array, f: Float32Array) =>
    tf.conv2d(tf.tensor(x, [2, 8, 8, 32]) as tf.Tensor4D, tf.tensor(f, [3, 3, 32, 32]) as tf.Tensor4D, 1, 'same');

  it('uses oneDNN bf16 implementations, not its reference kernels', () => {
    const { implementations } = addon.bf16Stats();
    expect(implementations.length).toBeGreaterThan(0);
    for (const name of implementations) expect(name).not.toMatch(/^ref/);
    expect(implementations.join(' ')).toMatch(/bf16|amx/);
  });
});

describe('bf16 matmul on the native backend', () => {
  const cases = [
    { a: [64, 96], b: [96, 40], transposeA: false, transposeB: false },
    { a: [96, 64], b: [96, 40], transposeA: true, transposeB: false },
    { a: [3, 17, 33], b: [3, 20, 33], transposeA: false, transposeB: true },
  ];
  for (const c of cases) {
    it(`a ${c.a}${c.transposeA ? 'ᵀ' : ''} · b ${c.b}${c.transposeB ? 'ᵀ' : ''}, with bias and relu`, async () => {
      const [a, b, bias] = [rounded(c.a, 1), rounded(c.b, 2), rounded([c.b.at(c.transposeB ? -2 : -1)!], 3)];
      const batch = c.a.length === 3 ? c.a[0]! : 1;
      const m = c.a.at(c.transposeA ? -1 : -2)!;
      const k = c.a.at(c.transposeA ? -2 : -1)!;
      const n = bias.length;
      const product = batchMatMul(a, b, { batchA: batch, batchB: batch, m, n, k, ...c });
      const expected = product.map((v, i) => Math.max(v + bias[i % n]!, 0));
      const result = await inBf16('_FusedMatMul', () =>
        tf.fused.matMul({
          a: tf.tensor(a, c.a),
          b: tf.tensor(b, c.b),
          transposeA: c.transposeA,
          transposeB: c.transposeB,
          bias: tf.tensor(bias),
          activation: 'relu',
        }),
      );
      expect(result.bf16Runs).toBe(1);
      expect(relativeError(result.values, expected)).toBeLessThanOrEqual(ROUNDED_TOLERANCE);
    });
  }
});

describe('the precision option', () => {
  it('leaves no tensors behind in a bf16 training step', async () => {
    await tf.setBackend('native');
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 4], filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 5 }),
      ],
    });
    const optimizer = tf.train.adam(1e-3);
    const x = tf.tensor(rounded([4, 8, 8, 4], 1), [4, 8, 8, 4]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5);
    const step = () =>
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar);
    step();
    const before = tf.memory().numTensors;
    const runs = addon.bf16Stats().runs;
    step();
    expect(tf.memory().numTensors).toBe(before);
    // conv2d forward and filter gradient (its input gradient is not needed), dense forward and two gradients.
    expect(addon.bf16Stats().runs - runs).toBeGreaterThanOrEqual(5);
    tf.dispose([x, y]);
    model.dispose();
    optimizer.dispose();
  });

  it("runs a model's training in its configured precision, restores the one it found, and lets --precision win", async () => {
    setNativePrecision('f32', addon);
    await expect(withPrecision('bf16', async () => nativePrecision())).resolves.toBe('bf16');
    expect(nativePrecision()).toBe('f32');
    await expect(withPrecision(undefined, async () => nativePrecision())).resolves.toBe('f32');
    const saved = process.env.SIMKIT_PRECISION;
    process.env.SIMKIT_PRECISION = 'f32';
    try {
      await expect(withPrecision('bf16', async () => nativePrecision())).resolves.toBe('f32');
    } finally {
      if (saved === undefined) delete process.env.SIMKIT_PRECISION;
      else process.env.SIMKIT_PRECISION = saved;
    }
    await tf.setBackend('cpu');
    try {
      await expect(withPrecision('bf16', async () => 'ran')).rejects.toThrow(/native backend only.*the backend is cpu/);
    } finally {
      await tf.setBackend('native');
    }
    setNativePrecision('bf16', addon);
  });

  it('parses f32 and bf16 and refuses anything else by name', () => {
    expect(parsePrecision('BF16')).toBe('bf16');
    expect(parsePrecision(undefined)).toBe('f32');
    expect(() => parsePrecision('fp16')).toThrow(/unknown precision "fp16".*|choose one of: f32, bf16/);
  });

  it('refuses bf16 without the addon, and on a CPU without native bf16, naming what is missing', () => {
    expect(() => setNativePrecision('bf16', undefined)).toThrow(UserError);
    const noBf16 = Object.assign(Object.create(addon) as NativeEngineAddon, {
      bf16Support: () => ({ supported: false, implementation: 'ref:any' }),
    });
    expect(() => setNativePrecision('bf16', noBf16)).toThrow(/no native bf16 convolution.*AVX512-BF16 or AMX/);
    expect(nativePrecision()).toBe('bf16');
  });

  it('refuses bf16 on any backend but native, naming it, and leaves the precision as it was', () => {
    expect(() => applyPrecision('bf16', 'wasm', addon)).toThrow(/native backend only.*the backend is wasm/);
    expect(applyPrecision('f32', 'wasm', addon)).toBe('f32');
    expect(nativePrecision()).toBe('bf16');
    expect(applyPrecision(undefined, 'native', addon)).toBe('f32');
    expect(nativePrecision()).toBe('f32');
    expect(applyPrecision('bf16', 'native', addon)).toBe('bf16');
  });
});
