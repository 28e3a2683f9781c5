import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../../core/engine/backend.js';
import { UserError } from '../../../core/errors.js';
import { FrozenBatchNormalization, GeMPooling2D } from '../../../core/models/layers.js';
import { saveModel } from '../../../core/models/io.js';
import { GraphFeatures, layersModelFrom, readModelDirectory } from '../../../core/models/pretrained.js';
import { pretrained, PRETRAINED_DEFAULTS } from '../../../plugins/backbones/pretrained.js';
import { floats, roundTrip, tempDir, trainSteps } from './helpers.js';

const INPUT = { height: 6, width: 6, channels: 2 };

/** A small conv net (conv → batch-norm → ReLU → conv) standing in for a pretrained feature extractor. */
function smallNet(): tf.LayersModel {
  const inputs = tf.input({ shape: [6, 6, 2] });
  let x = tf.layers
    .conv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    })
    .apply(inputs) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ momentum: 0.5 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({
      filters: 5,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
    })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs, outputs: x });
}

/** A hand-written TF.js graph model: x (−1×4×4×2) → Conv2D (3×3, 2 → 3, SAME) → Relu. */
function writeGraphModel(dir: string, kernel: number[]): void {
  mkdirSync(dir, { recursive: true });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const f32 = { type: 'DT_FLOAT' };
  const dims = (...sizes: number[]) => ({ dim: sizes.map((size) => ({ size: String(size) })) });
  const modelTopology = {
    node: [
      { name: 'x', op: 'Placeholder', attr: { dtype: f32, shape: { shape: dims(-1, 4, 4, 2) } } },
      {
        name: 'w',
        op: 'Const',
        attr: { dtype: f32, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(3, 3, 2, 3) } } },
      },
      {
        name: 'conv',
        op: 'Conv2D',
        input: ['x', 'w'],
        attr: {
          T: f32,
          strides: { list: { i: ['1', '1', '1', '1'] } },
          padding: { s: b64('SAME') },
          data_format: { s: b64('NHWC') },
          dilations: { list: { i: ['1', '1', '1', '1'] } },
        },
      },
      { name: 'out', op: 'Relu', input: ['conv'], attr: { T: f32 } },
    ],
    versions: { producer: 1 },
  };
  writeFileSync(
    join(dir, 'model.json'),
    JSON.stringify({
      format: 'graph-model',
      generatedBy: 'simkit test',
      convertedBy: 'hand',
      modelTopology,
      weightsManifest: [
        { paths: ['group1-shard1of1.bin'], weights: [{ name: 'w', shape: [3, 3, 2, 3], dtype: 'float32' }] },
      ],
    }),
  );
  writeFileSync(join(dir, 'group1-shard1of1.bin'), Buffer.from(Float32Array.from(kernel).buffer));
}

describe('pretrained backbone', () => {
  let root: ReturnType<typeof tempDir>;
  let netDir: string;
  let x: tf.Tensor4D;
  beforeAll(async () => {
    await initEngine('native');
    root = tempDir('simkit-pretrained-');
    netDir = join(root.dir, 'net');
    const net = smallNet();
    // Give the batch norm non-trivial moving statistics, as a trained network has.
    const warm = tf.tensor4d(floats(8 * 6 * 6 * 2, 4), [8, 6, 6, 2]);
    tf.tidy(() => net.apply(warm, { training: true }) as tf.Tensor);
    warm.dispose();
    await saveModel(net, netDir);
    net.dispose();
    x = tf.tensor4d(floats(4 * 6 * 6 * 2, 3), [4, 6, 6, 2]);
  });
  afterAll(() => {
    x.dispose();
    root.cleanup();
  });

  const baseWeights = (model: tf.LayersModel, count: number) =>
    model.layers.slice(0, count).flatMap((l) => l.getWeights().map((w) => Array.from(w.dataSync())));

  it('loads a LayersModel synchronously with its weights', async () => {
    const { loadModel } = await import('../../../core/models/io.js');
    const reference = await loadModel(netDir);
    const loaded = layersModelFrom(readModelDirectory(netDir));
    const a = tf.tidy(() => (reference.predict(x) as tf.Tensor).dataSync());
    const b = tf.tidy(() => (loaded.predict(x) as tf.Tensor).dataSync());
    expect(Array.from(b)).toEqual(Array.from(a));
    reference.dispose();
    loaded.dispose();
  });

  it('frozen: the pretrained layers and batch-norm statistics do not change in training; the neck does; memory steady; save/load identical', async () => {
    const model = pretrained({ ...PRETRAINED_DEFAULTS, path: netDir })(INPUT, 8, 1);
    const baseCount = model.layers.findIndex((l) => l instanceof GeMPooling2D);
    expect(baseCount).toBe(5); // input, conv, bn, relu, conv
    expect(model.layers.some((l) => l instanceof FrozenBatchNormalization)).toBe(true);
    expect(model.layers.slice(0, baseCount).every((l) => !l.trainable)).toBe(true);
    const before = baseWeights(model, baseCount);
    const neckBefore = model.layers
      .slice(baseCount)
      .flatMap((l) => l.getWeights().map((w) => Array.from(w.dataSync())));
    const counts = trainSteps(model, x, 20);
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(baseWeights(model, baseCount)).toEqual(before); // moving mean and variance included
    const neckAfter = model.layers.slice(baseCount).flatMap((l) => l.getWeights().map((w) => Array.from(w.dataSync())));
    expect(neckAfter).not.toEqual(neckBefore);
    const { before: out, after: back, loaded } = await roundTrip(model, x);
    expect(Array.from(back)).toEqual(Array.from(out));
    expect(loaded.layers.slice(0, baseCount).every((l) => !l.trainable)).toBe(true);
    model.dispose();
    loaded.dispose();
  });

  it('fine-tuned (trainable: true): the pretrained weights change', () => {
    const model = pretrained({
      ...PRETRAINED_DEFAULTS,
      path: netDir,
      trainable: true,
      pooling: 'average',
      prelu: true,
    })(INPUT, 8, 1);
    const baseCount = model.layers.findIndex((l) => l.getClassName() === 'GlobalAveragePooling2D');
    expect(model.layers.some((l) => l instanceof FrozenBatchNormalization)).toBe(false);
    const before = baseWeights(model, baseCount);
    trainSteps(model, x, 3);
    const after = baseWeights(model, baseCount);
    expect(after[0]).not.toEqual(before[0]); // the first conv kernel
    model.dispose();
  });

  it('the neck gets layer names that do not clash with the pretrained ones', async () => {
    // A pretrained network whose layers already use the names the neck would take.
    const inputs = tf.input({ shape: [6, 6, 2] });
    const y = tf.layers.conv2d({ filters: 3, kernelSize: 1, name: 'neck_pool' }).apply(inputs) as tf.SymbolicTensor;
    const clash = tf.model({ inputs, outputs: y });
    const dir = join(root.dir, 'clash');
    await saveModel(clash, dir);
    clash.dispose();
    const model = pretrained({ ...PRETRAINED_DEFAULTS, path: dir })(INPUT, 4, 1);
    expect(new Set(model.layers.map((l) => l.name)).size).toBe(model.layers.length);
    model.dispose();
  });

  it('a Sequential network with a flat output works too (no pooling, the neck only)', async () => {
    const seq = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [6, 6, 2] }), tf.layers.dense({ units: 7, activation: 'relu' })],
    });
    const dir = join(root.dir, 'sequential');
    await saveModel(seq, dir);
    const expected = tf.tidy(() => (seq.predict(x) as tf.Tensor).dataSync());
    seq.dispose();
    const model = pretrained({ ...PRETRAINED_DEFAULTS, path: dir })(INPUT, 4, 1);
    expect(model.layers.some((l) => l instanceof GeMPooling2D)).toBe(false);
    const base = tf.model({ inputs: model.inputs, outputs: model.layers[2]!.output });
    expect(Array.from(tf.tidy(() => (base.predict(x) as tf.Tensor).dataSync()))).toEqual(Array.from(expected));
    expect(model.outputs[0]!.shape).toEqual([null, 4]);
    model.dispose();
  });

  it('a GraphModel is a frozen feature extractor: matches the conv it holds, trains the neck only, saves and loads back', async () => {
    const dir = join(root.dir, 'My_Graph Model'); // upper case, underscore, space: TF.js re-cases string configs
    const kernel = floats(3 * 3 * 2 * 3, 8);
    writeGraphModel(dir, kernel);
    const input = { height: 4, width: 4, channels: 2 };
    const model = pretrained({ ...PRETRAINED_DEFAULTS, path: dir })(input, 6, 1);
    expect(model.layers[1]).toBeInstanceOf(GraphFeatures);
    expect(model.layers[1]!.outputShape).toEqual([null, 4, 4, 3]);
    const xs = tf.tensor4d(floats(3 * 4 * 4 * 2, 9), [3, 4, 4, 2]);
    const features = tf.tidy(() => (model.layers[1]!.apply(xs) as tf.Tensor).dataSync());
    const expected = tf.tidy(() => tf.relu(tf.conv2d(xs, tf.tensor4d(kernel, [3, 3, 2, 3]), 1, 'same')).dataSync());
    Array.from(features).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    const counts = trainSteps(model, xs, 20);
    expect(new Set(counts.slice(1)).size).toBe(1);
    const { before, after, loaded } = await roundTrip(model, xs);
    expect(Array.from(after)).toEqual(Array.from(before));
    expect(() => pretrained({ ...PRETRAINED_DEFAULTS, path: dir, trainable: true })(input, 6, 1)).toThrow(
      /cannot be fine-tuned/,
    );
    xs.dispose();
    model.dispose();
    loaded.dispose();
  });

  it('clear errors: no path, missing directory, missing files, unknown format, wrong input size', () => {
    const build =
      (path: string, input = INPUT, extra: object = {}) =>
      () =>
        pretrained({ ...PRETRAINED_DEFAULTS, ...extra, path })(input, 4, 1);
    expect(build('')).toThrow(/needs a "path" option/);
    expect(build(join(root.dir, 'nowhere'))).toThrow(/does not exist/);
    const empty = join(root.dir, 'empty');
    mkdirSync(empty);
    expect(build(empty)).toThrow(/model\.json is missing/);
    const noWeights = join(root.dir, 'no-weights');
    mkdirSync(noWeights);
    writeFileSync(
      join(noWeights, 'model.json'),
      JSON.stringify({
        format: 'layers-model',
        modelTopology: { class_name: 'Model', config: {} },
        weightsManifest: [{ paths: ['weights.bin'], weights: [] }],
      }),
    );
    expect(build(noWeights)).toThrow(/weights\.bin \(listed in .*\) is missing/);
    const odd = join(root.dir, 'odd');
    mkdirSync(odd);
    writeFileSync(join(odd, 'model.json'), JSON.stringify({ format: 'saved-model', modelTopology: {} }));
    expect(build(odd)).toThrow(/unknown model format "saved-model"/);
    expect(build(netDir, { height: 8, width: 8, channels: 2 })).toThrow(/takes 6×6×2 inputs.*feeds 8×8×2/);
    expect(build(netDir, INPUT, { inputSize: 8 })).toThrow(/inputSize is 8/);
    try {
      build(odd)();
    } catch (error) {
      expect(error).toBeInstanceOf(UserError);
    }
  });
});
