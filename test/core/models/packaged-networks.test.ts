import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as nsfwjs from 'nsfwjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../../core/engine/backend.js';
import { UserError } from '../../../core/errors.js';
import {
  dequantize,
  ensureCached,
  packagedNetwork,
  packagedNetworkModel,
} from '../../../core/models/packaged-networks.js';
import { FrozenBatchNormalization } from '../../../core/models/layers.js';
import { tempDir } from './helpers.js';

const cache = tempDir('simkit-packaged-');
const previousCache = process.env.SIMKIT_CACHE_DIR;
const mobilenet = packagedNetwork('mobilenet-v2');

beforeAll(async () => {
  process.env.SIMKIT_CACHE_DIR = cache.dir;
  await initEngine();
});
afterAll(() => {
  if (previousCache === undefined) delete process.env.SIMKIT_CACHE_DIR;
  else process.env.SIMKIT_CACHE_DIR = previousCache;
  cache.cleanup();
});

/** Three 224×224 RGB pictures in 0–255: seeded noise, a smooth gradient and a checkerboard. */
function images(): tf.Tensor3D[] {
  return [
    tf.randomUniform([224, 224, 3], 0, 255, 'float32', 3).round(),
    tf.tidy(() =>
      tf
        .linspace(0, 255, 224)
        .reshape([224, 1, 1])
        .tile([1, 224, 3])
        .add(tf.tensor1d([0, 30, 60]))
        .minimum(255),
    ),
    tf.tidy(() => {
      const stripes = tf.range(0, 224).div(16).floor().mod(2);
      return stripes
        .reshape([224, 1, 1])
        .add(stripes.reshape([1, 224, 1]))
        .mod(2)
        .mul(255)
        .tile([1, 1, 3]);
    }),
  ] as tf.Tensor3D[];
}

describe('networks shipped in the nsfwjs package', () => {
  it("decodes MobileNetV2 to the outputs of nsfwjs's own loader (final layer and a middle one)", async () => {
    const reference = await nsfwjs.load('MobileNetV2');
    const ours = packagedNetworkModel(mobilenet);
    const cut = packagedNetworkModel(mobilenet, { layer: 'block_10_project_BN' });
    for (const image of images()) {
      const x = tf.tidy(() => image.div(255).expandDims(0));
      for (const [model, endpoint] of [
        [ours, undefined],
        [cut, 'block_10_project_BN'],
      ] as const) {
        const expected = (reference.infer(image, endpoint) as tf.Tensor).dataSync();
        const actual = (tf.tidy(() => model.predict(x)) as tf.Tensor).dataSync();
        expect(actual.length).toBe(expected.length);
        let worst = 0;
        for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
        expect(worst).toBeLessThan(1e-5);
      }
      tf.dispose([x, image]);
    }
    // (nsfwjs's own dispose() fails once an endpoint model shares the layers; the test process ends soon.)
    ours.dispose();
    cut.dispose();
  }, 120_000);

  it('caches float32 weights with SHA-256 digests and decodes again when they do not match', () => {
    const { dir, manifest } = ensureCached(mobilenet);
    expect(manifest.version).toBe('4.4.0');
    const weights = join(dir, 'weights.bin');
    // Every parameter of the network as float32 (Keras counts 2,619,461 for this MobileNetV2).
    expect(readFileSync(weights).byteLength / 4).toBe(2_619_461);
    const bytes = readFileSync(weights);
    bytes[100] = bytes[100]! ^ 0xff;
    writeFileSync(weights, bytes);
    const again = ensureCached(mobilenet);
    expect(again.manifest.weightsSha256).toBe(manifest.weightsSha256);
    expect(readFileSync(weights)[100]).toBe(bytes[100] ^ 0xff);
  });

  it('expands uint8 and uint16 weights as q · scale + min, in float64 terms', () => {
    const specs: tf.io.WeightsManifestEntry[] = [
      { name: 'a', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
      { name: 'b', shape: [2], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.25, min: 2 } },
      { name: 'c', shape: [1], dtype: 'float32' },
    ];
    const bytes = new Uint8Array(3 + 4 + 4);
    bytes.set([0, 7, 255]);
    new DataView(bytes.buffer).setUint16(3, 1000, true);
    new DataView(bytes.buffer).setUint16(5, 3, true);
    new DataView(bytes.buffer).setFloat32(7, 1.25, true);
    const { specs: out, values } = dequantize(specs, bytes);
    expect(Array.from(values)).toEqual([-1, 2.5, 126.5, 252, 2.75, 1.25]);
    expect(out.every((spec) => spec.quantization === undefined)).toBe(true);
    expect(() => dequantize(specs, bytes.subarray(0, 10))).toThrow(/describes/);
  });

  it('takes any input size (the final pool covers the whole map), is cut at a layer and can be frozen', () => {
    const before = tf.memory().numTensors;
    const small = packagedNetworkModel(mobilenet, { size: 96 });
    expect(small.outputs[0]!.shape).toEqual([null, 5]);
    const pooled = small.layers.find((layer) => layer.name === 'average_pooling2d_1')!;
    expect(pooled.getConfig()['poolSize']).toEqual([3, 3]);
    const cut = packagedNetworkModel(mobilenet, { size: 64, layer: 'block_5_add', frozen: true });
    expect(cut.outputs[0]!.shape).toEqual([null, 8, 8, 32]);
    expect(cut.layers.some((layer) => layer.name.startsWith('block_6'))).toBe(false);
    expect(cut.layers.filter((layer) => layer instanceof FrozenBatchNormalization).length).toBeGreaterThan(10);
    expect(cut.trainableWeights).toHaveLength(0);
    const y = tf.tidy(() => cut.predict(tf.ones([2, 64, 64, 3])) as tf.Tensor);
    expect(y.shape).toEqual([2, 8, 8, 32]);
    tf.dispose(y);
    small.dispose();
    cut.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => packagedNetworkModel(mobilenet, { layer: 'block_99' })).toThrow(UserError);
    expect(() => packagedNetwork('resnet-50')).toThrow(/unknown packaged network "resnet-50"/);
  }, 60_000);

  it('decodes InceptionV3 to the outputs of nsfwjs at mixed5', async () => {
    const reference = await nsfwjs.load('InceptionV3', { size: 299 });
    const cut = packagedNetworkModel(packagedNetwork('inception-v3'), { layer: 'mixed5' });
    const image = tf.randomUniform([299, 299, 3], 0, 255, 'float32', 5).round() as tf.Tensor3D;
    const expected = (reference.infer(image, 'mixed5') as tf.Tensor).dataSync();
    const actual = (tf.tidy(() => cut.predict(image.div(255).expandDims(0))) as tf.Tensor).dataSync();
    let worst = 0;
    for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    expect(actual.length).toBe(expected.length);
    expect(worst).toBeLessThan(1e-5);
    tf.dispose(image);
    cut.dispose();
  }, 180_000);
});
