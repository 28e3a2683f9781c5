import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../../core/engine/backend.js';
import { UserError } from '../../../core/errors.js';
import { packaged, PACKAGED_DEFAULTS } from '../../../plugins/backbones/packaged.js';
import { tempDir } from '../../core/models/helpers.js';

const cache = tempDir('simkit-packaged-backbone-');
const previousCache = process.env.SIMKIT_CACHE_DIR;

describe('mobilenet-v2 backbone', () => {
  beforeAll(async () => {
    process.env.SIMKIT_CACHE_DIR = cache.dir;
    await initEngine('native');
  });
  afterAll(() => {
    if (previousCache === undefined) delete process.env.SIMKIT_CACHE_DIR;
    else process.env.SIMKIT_CACHE_DIR = previousCache;
    cache.cleanup();
  });

  it('cuts, pools or flattens, adds the neck, and trains from a named layer on', () => {
    const tensors = tf.memory().numTensors;
    const options = { ...PACKAGED_DEFAULTS, layer: 'block_2_add' };
    const flat = packaged('mobilenet-v2')({ ...options, pooling: 'flatten', trainable: 'block_2_expand' })(
      { height: 32, width: 32, channels: 3 },
      16,
      1,
    );
    expect(flat.outputs[0]!.shape).toEqual([null, 16]);
    // 32 px → an 8×8×24 map after block 2, flattened: 1,536 inputs to the embedding layer.
    expect(flat.getLayer('neck_embedding').getWeights()[0]!.shape).toEqual([8 * 8 * 24, 16]);
    const trainable = flat.layers.filter((l) => l.trainable && l.weights.length > 0).map((l) => l.name);
    expect(trainable[0]).toBe('block_2_expand');
    expect(trainable).not.toContain('Conv1');
    expect(trainable).toContain('neck_embedding');
    const gem = packaged('mobilenet-v2')({ ...options })({ height: 32, width: 32, channels: 3 }, 16, 1);
    expect(gem.layers.some((l) => l.name === 'neck_pool')).toBe(true);
    expect(gem.trainableWeights.every((w) => w.originalName.startsWith('neck'))).toBe(true);
    flat.dispose();
    gem.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('refuses grey or non-square images and an unknown pooling, naming what is expected', () => {
    const build = packaged('mobilenet-v2')(PACKAGED_DEFAULTS);
    expect(() => build({ height: 32, width: 32, channels: 1 }, 8, 1)).toThrow(/square RGB images/);
    expect(() => build({ height: 32, width: 48, channels: 3 }, 8, 1)).toThrow(UserError);
    expect(() => packaged('mobilenet-v2')({ ...PACKAGED_DEFAULTS, pooling: 'max' as never })).toThrow(
      /unknown pooling "max"/,
    );
  });

  it('takes any image size when asked, cut before its final pool and pooled; refuses a cut that keeps that pool', () => {
    const options = { ...PACKAGED_DEFAULTS, layer: 'block_10_project_BN' };
    const model = packaged('mobilenet-v2')(options)({ height: 64, width: 64, channels: 3, anySize: true }, 8, 1);
    expect(model.inputs[0]!.shape).toEqual([null, null, null, 3]);
    for (const side of [48, 64, 80]) {
      const embedded = tf.tidy(() => (model.predict(tf.ones([2, side, side, 3])) as tf.Tensor).shape);
      expect(embedded).toEqual([2, 8]);
    }
    model.dispose();
    expect(() =>
      packaged('mobilenet-v2')({ ...PACKAGED_DEFAULTS, layer: 'average_pooling2d_1' })(
        { height: 64, width: 64, channels: 3, anySize: true },
        8,
        1,
      ),
    ).toThrow(/keeps its fixed-size final pool, so it takes one image size only/);
  });
});
