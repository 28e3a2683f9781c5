import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../../core/engine/backend.js';
import { embeddingNeck, GeMPooling2D } from '../../../core/models/layers.js';
import { UserError } from '../../../core/errors.js';
import { residualCnn, RESIDUAL_CNN_DEFAULTS, RESNET18_DEFAULTS } from '../../../plugins/backbones/residual-cnn.js';
import { floats, roundTrip, trainSteps } from './helpers.js';

/** GeM in float64: y[b][c] = (mean_hw max(x, eps)^p)^(1/p). */
function gem64(x: number[], [B, H, W, C]: readonly [number, number, number, number], p: number, eps = 1e-6): number[] {
  const y: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) sum += Math.max(x[((b * H + h) * W + w) * C + c]!, eps) ** p;
      y.push((sum / (H * W)) ** (1 / p));
    }
  }
  return y;
}

describe('GeM pooling', () => {
  const shape: [number, number, number, number] = [2, 3, 4, 5];
  // Mostly positive activations (as after a ReLU), some negative ones to exercise the clamp.
  const values = floats(2 * 3 * 4 * 5, 11).map((v) => (v < -0.8 ? v : Math.abs(v) * 2));
  const weights = floats(2 * 5, 12);
  beforeAll(async () => {
    await initEngine('native');
  });

  function pooled(p: number): { layer: GeMPooling2D; y: tf.Tensor } {
    const layer = new GeMPooling2D({ p });
    const y = layer.apply(tf.tensor4d(values, shape)) as tf.Tensor;
    return { layer, y };
  }

  it('matches a float64 loop, clamp included, for p = 3 and p = 1.7', () => {
    for (const p of [3, 1.7]) {
      const { layer, y } = pooled(p);
      expect(y.shape).toEqual([2, 5]);
      const expected = gem64(values, shape, p);
      Array.from(y.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
      y.dispose();
      layer.dispose();
    }
  });

  it('p = 1 is average pooling of the clamped input', () => {
    const { layer, y } = pooled(1);
    const average = tf.tidy(() => tf.mean(tf.maximum(tf.tensor4d(values, shape), 1e-6), [1, 2]).dataSync());
    Array.from(y.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(average[i]!, 5));
    tf.dispose([y]);
    layer.dispose();
  });

  it('the gradient wrt p (and wrt x) agrees with finite differences of the float64 formula', () => {
    const p = 2.5;
    const loss64 = (xs: number[], q: number) => gem64(xs, shape, q).reduce((s, v, i) => s + v * weights[i]!, 0);
    const layer = new GeMPooling2D({ p });
    const x = tf.tensor4d(values, shape);
    layer.apply(x); // builds the weight
    const pVar = layer.trainableWeights[0]!.read() as tf.Variable;
    const { grads, value } = tf.variableGrads(
      () => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, tf.tensor2d(weights, [2, 5]))) as tf.Scalar,
      [pVar],
    );
    const h = 1e-5;
    const fd = (loss64(values, p + h) - loss64(values, p - h)) / (2 * h);
    expect(value.dataSync()[0]).toBeCloseTo(loss64(values, p), 4);
    expect(grads[pVar.name]!.dataSync()[0]).toBeCloseTo(fd, 3);
    expect(Math.abs(fd)).toBeGreaterThan(1e-3); // the check is not vacuous

    const dx = tf
      .grad((input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input) as tf.Tensor, tf.tensor2d(weights, [2, 5]))))(x)
      .dataSync();
    for (const i of [0, 7, 33, 64, 119]) {
      if (values[i]! <= 0) continue;
      const plus = [...values];
      const minus = [...values];
      plus[i]! += h;
      minus[i]! -= h;
      expect(dx[i]).toBeCloseTo((loss64(plus, p) - loss64(minus, p)) / (2 * h), 3);
    }
    tf.dispose([x, value, ...Object.values(grads)]);
    layer.dispose();
  });

  it('a model with GeM and the batch-norm + PReLU neck saves and loads back to identical outputs', async () => {
    const inputs = tf.input({ shape: [6, 6, 3] });
    const conv = tf.layers
      .conv2d({
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      })
      .apply(inputs) as tf.SymbolicTensor;
    const pooled = new GeMPooling2D({ p: 2.2 }).apply(conv) as tf.SymbolicTensor;
    const model = tf.model({
      inputs,
      outputs: embeddingNeck(pooled, { embeddingDim: 8, hidden: [6], prelu: true, seed: 3 }),
    });
    const x = tf.tensor4d(floats(2 * 6 * 6 * 3, 5).map(Math.abs), [2, 6, 6, 3]);
    trainSteps(model, x, 3); // moves p, the batch-norm statistics and the PReLU slopes away from their initial values
    const gemP = model.layers
      .find((l) => l instanceof GeMPooling2D)!
      .getWeights()[0]!
      .dataSync()[0]!;
    expect(gemP).not.toBeCloseTo(2.2, 4);
    const { before, after, loaded } = await roundTrip(model, x);
    expect(Array.from(after)).toEqual(Array.from(before));
    expect(loaded.layers.some((l) => l instanceof GeMPooling2D)).toBe(true);
    tf.dispose(x);
    model.dispose();
    loaded.dispose();
  });
});

describe('residual-cnn pooling', () => {
  const x = () => tf.tensor4d(floats(4 * 8 * 8 * 1, 9), [4, 8, 8, 1]);
  let input: tf.Tensor4D;
  beforeAll(async () => {
    await initEngine('native');
    input = x();
  });
  afterAll(() => input.dispose());

  it('default options build the same model as before (average pooling, one dense layer)', () => {
    const model = residualCnn({ ...RESIDUAL_CNN_DEFAULTS, widths: [4, 8] })({ height: 8, width: 8, channels: 1 }, 6, 1);
    const classes = model.layers.map((l) => l.getClassName());
    expect(classes.slice(-2)).toEqual(['GlobalAveragePooling2D', 'Dense']);
    expect(classes).not.toContain(GeMPooling2D.className);
    model.dispose();
  });

  it("pooling 'gem' with the 'bn-prelu' neck: memory steady over 20 training steps, save/load identical", async () => {
    const model = residualCnn({ ...RESIDUAL_CNN_DEFAULTS, widths: [4, 8], pooling: 'gem', neck: 'bn-prelu' })(
      { height: 8, width: 8, channels: 1 },
      6,
      1,
    );
    const classes = model.layers.map((l) => l.getClassName());
    expect(classes.slice(-4)).toEqual([GeMPooling2D.className, 'Dense', 'BatchNormalization', 'PReLU']);
    const counts = trainSteps(model, input, 20);
    expect(new Set(counts.slice(1)).size).toBe(1); // the first step creates the optimizer's slots
    const { before, after, loaded } = await roundTrip(model, input);
    expect(Array.from(after)).toEqual(Array.from(before));
    model.dispose();
    loaded.dispose();
  });
});

describe("residual-cnn style 'resnet' (the resnet-18 backbone)", () => {
  beforeAll(async () => {
    await initEngine('wasm');
  });

  const trainableParams = (model: tf.LayersModel) =>
    model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce<number>((a, b) => a * b!, 1), 0);

  it("at ResNet-18's widths has its published parameter count (torchvision: 11,689,512 with the 1000-class fc layer)", () => {
    const embeddingDim = 8;
    const model = residualCnn(RESNET18_DEFAULTS)({ height: 32, width: 32, channels: 3 }, embeddingDim, 1);
    const fc = 512 * 1000 + 1000;
    const embeddingLayer = 512 * embeddingDim + embeddingDim;
    expect(trainableParams(model) - embeddingLayer).toBe(11_689_512 - fc);
    model.dispose();
  });

  it('at 64×64: 20 convolutions (three of them 1×1 projections), a 2×2 last stage, memory steady over training steps', () => {
    const model = residualCnn({ ...RESNET18_DEFAULTS, widths: [4, 8, 8, 16] })(
      { height: 64, width: 64, channels: 3 },
      6,
      1,
    );
    const convs = model.layers.filter((l) => l.getClassName() === 'Conv2D');
    expect(convs.length).toBe(20);
    expect(convs.filter((l) => (l.getConfig().kernelSize as number[])[0] === 1).length).toBe(3);
    const pool = model.layers.find((l) => l.getClassName() === 'GlobalAveragePooling2D')!;
    expect((pool.input as tf.SymbolicTensor).shape).toEqual([null, 2, 2, 16]);
    const input = tf.tensor4d(floats(2 * 64 * 64 * 3, 4), [2, 64, 64, 3]);
    const counts = trainSteps(model, input, 5);
    expect(new Set(counts.slice(1)).size).toBe(1);
    input.dispose();
    model.dispose();
  });

  it('one block count for every stage builds the same weights as the count per stage', () => {
    const shape = { height: 8, width: 8, channels: 1 };
    const a = residualCnn({ ...RESIDUAL_CNN_DEFAULTS, widths: [4, 8], blocks: 1 })(shape, 6, 1);
    const b = residualCnn({ ...RESIDUAL_CNN_DEFAULTS, widths: [4, 8], blocks: [1, 1] })(shape, 6, 1);
    const values = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
    expect(values(b)).toEqual(values(a));
    a.dispose();
    b.dispose();
  });

  it('refuses block counts that do not match the widths', () => {
    expect(() => residualCnn({ ...RESNET18_DEFAULTS, blocks: [2, 2] })).toThrow(UserError);
    expect(() => residualCnn({ ...RESNET18_DEFAULTS, blocks: [2, 2] })).toThrow(
      /blocks \[2, 2\] gives 2 stage\(s\), widths \[64, 128, 256, 512\] 4/,
    );
  });
});
