import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../../core/engine/backend.js';
import { normalizedEmbeddingModel, simkitOnlyLayers } from '../../../core/models/export.js';
import { saveModel } from '../../../core/models/io.js';
import { UnitNormalization } from '../../../core/models/layers.js';
import { residualCnn } from '../../../plugins/backbones/residual-cnn.js';
import { floats, roundTrip, tempDir } from './helpers.js';

/** Rows of a B×D array divided by their float64 L2 norms. */
function normalized64(values: Float32Array, dim: number): number[] {
  const out: number[] = [];
  for (let start = 0; start < values.length; start += dim) {
    const row = Array.from(values.subarray(start, start + dim));
    const norm = Math.sqrt(row.reduce((sum, v) => sum + v * v, 0));
    out.push(...row.map((v) => v / norm));
  }
  return out;
}

function denseModel(): tf.LayersModel {
  const input = tf.input({ shape: [6] });
  const output = tf.layers
    .dense({ units: 5, kernelInitializer: tf.initializers.randomNormal({ seed: 3 }) })
    .apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

describe('normalizedEmbeddingModel', () => {
  beforeAll(async () => {
    await initEngine('native');
  });

  it("outputs the model's rows L2-normalised (float64 reference), and saves and reloads as the same function", async () => {
    const base = denseModel();
    const served = normalizedEmbeddingModel(base);
    const x = tf.tensor2d(floats(4 * 6, 5), [4, 6]);
    const raw = tf.tidy(() => base.predict(x) as tf.Tensor).dataSync() as Float32Array;
    const { before, after, loaded } = await roundTrip(served, x);
    const expected = normalized64(raw, 5);
    for (let i = 0; i < expected.length; i++) {
      expect(before[i]!).toBeCloseTo(expected[i]!, 6);
      expect(Math.abs(after[i]! - before[i]!)).toBeLessThanOrEqual(1e-6);
    }
    expect(loaded.layers.at(-1)).toBeInstanceOf(UnitNormalization);
    x.dispose();
    loaded.dispose();
    base.dispose();
  });

  it("saves the normalisation under Keras' class name and config, so a converter finds it without simkit", async () => {
    const served = normalizedEmbeddingModel(denseModel());
    const { dir, cleanup } = tempDir();
    try {
      await saveModel(served, join(dir, 'model'));
      const manifest = JSON.parse(readFileSync(join(dir, 'model', 'model.json'), 'utf8')) as {
        modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
      };
      const last = manifest.modelTopology.config.layers.at(-1)!;
      expect(last.class_name).toBe('UnitNormalization');
      expect(last.config.axis).toBe(-1);
      expect(simkitOnlyLayers(served)).toEqual([]);
    } finally {
      cleanup();
      served.dispose();
    }
  });

  it('names the layers only simkit defines, and refuses a model with several outputs', () => {
    const gem = residualCnn({ widths: [4], blocks: 1, dropout: 0, pooling: 'gem' })(
      { height: 8, width: 8, channels: 3 },
      4,
      1,
    );
    expect(simkitOnlyLayers(normalizedEmbeddingModel(gem))).toEqual(['SimkitGeMPooling2D']);
    gem.dispose();
    const input = tf.input({ shape: [3] });
    const twoOutputs = tf.model({
      inputs: input,
      outputs: [
        tf.layers.dense({ units: 2 }).apply(input),
        tf.layers.dense({ units: 2 }).apply(input),
      ] as tf.SymbolicTensor[],
    });
    expect(() => normalizedEmbeddingModel(twoOutputs)).toThrow('an embedding model has one B×D output');
    twoOutputs.dispose();
    expect(() => new UnitNormalization({ axis: 2 })).toThrow('last axis');
  });

  it('leaks no tensors', () => {
    const base = denseModel();
    const served = normalizedEmbeddingModel(base);
    const x = tf.tensor2d(floats(3 * 6, 9), [3, 6]);
    const before = tf.memory().numTensors;
    tf.dispose(served.predict(x) as tf.Tensor);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    served.dispose();
  });
});
