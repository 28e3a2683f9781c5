import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { UserError } from '../../../core/errors.js';
import { createObjective } from '../../../core/losses/objective.js';
import { Random } from '../../../core/random.js';
import { FineTuningPhases, type FineTuningOptions } from '../../../core/training/fine-tuning.js';
import { trainEmbedding, type TrainingResult } from '../../../core/training/trainer.js';
import { packaged, PACKAGED_DEFAULTS } from '../../../plugins/backbones/packaged.js';
import { mlp } from '../../../plugins/backbones/mlp.js';
import { tempDir } from '../models/helpers.js';

const cache = tempDir('simkit-fine-tuning-');
const previousCache = process.env.SIMKIT_CACHE_DIR;
const SIZE = 32;
const PHASES: FineTuningOptions = { headOnlyEpochs: 1, unfreeze: 'block_1_expand', backboneLearningRateFactor: 0.1 };

/** MobileNetV2 up to block 1 at 32 px, flattened, 8-d neck: small enough to train in a test. */
function smallBackbone(seed = 3): tf.LayersModel {
  const build = packaged('mobilenet-v2')({ ...PACKAGED_DEFAULTS, layer: 'block_1_project_BN', pooling: 'flatten' });
  return build({ height: SIZE, width: SIZE, channels: 3 }, 8, seed);
}

function images(count: number): { data: Float32Array; shape: number[]; labels: Int32Array } {
  const random = new Random(5);
  const labels = Int32Array.from({ length: count }, (_, i) => i % 4);
  const data = Float32Array.from({ length: count * SIZE * SIZE * 3 }, (_, i) =>
    Math.min(1, Math.max(0, labels[Math.floor(i / (SIZE * SIZE * 3))]! / 4 + random.uniform(0, 0.5))),
  );
  return { data, shape: [SIZE, SIZE, 3], labels };
}

function snapshot(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}

function changed(before: Map<string, Float32Array>, after: Map<string, Float32Array>, name: string): boolean {
  const [a, b] = [before.get(name)!, after.get(name)!];
  return a.some((value, i) => value !== b[i]);
}

describe('fine-tuning phases', () => {
  let app: Simkit;
  beforeAll(async () => {
    process.env.SIMKIT_CACHE_DIR = cache.dir;
    await initEngine('native');
    app = await Simkit.create();
  });
  afterAll(() => {
    if (previousCache === undefined) delete process.env.SIMKIT_CACHE_DIR;
    else process.env.SIMKIT_CACHE_DIR = previousCache;
    cache.cleanup();
  });

  async function train(
    model: tf.LayersModel,
    epochs: number,
    options: { runDir?: string; resume?: boolean; validate?: () => Promise<Record<string, number>> } = {},
  ): Promise<TrainingResult> {
    const objective = createObjective(
      app,
      { loss: 'multi-similarity', head: 'none' },
      { embeddingDim: 8, numClasses: 4 },
    );
    try {
      return await trainEmbedding(model, objective, images(32), {
        epochs,
        batchSize: 16,
        learningRate: 0.01,
        headLearningRateFactor: 1,
        warmupEpochs: 0,
        clipNorm: 5,
        seed: 7,
        progress: false,
        fineTuning: PHASES,
        ...options,
      });
    } finally {
      objective.dispose();
    }
  }

  it('trains the neck alone first, then the network from the named layer on; frozen statistics stay', async () => {
    const tensors = tf.memory().numTensors;
    const model = smallBackbone();
    const start = snapshot(model);
    const first = await train(model, 1);
    const afterHeadOnly = snapshot(model);
    expect(first.history.map((record) => record.phase)).toEqual(['head-only']);
    expect(changed(start, afterHeadOnly, 'neck_embedding/kernel')).toBe(true);
    for (const name of ['Conv1/kernel', 'block_1_expand/kernel', 'block_1_depthwise/depthwise_kernel'])
      expect(changed(start, afterHeadOnly, name)).toBe(false);

    const model2 = smallBackbone();
    const both = await train(model2, 2);
    const after = snapshot(model2);
    expect(both.history.map((record) => record.phase)).toEqual(['head-only', 'unfrozen']);
    expect(changed(start, after, 'block_1_expand/kernel')).toBe(true);
    expect(changed(start, after, 'block_1_depthwise/depthwise_kernel')).toBe(true);
    expect(changed(start, after, 'block_1_project_BN/gamma')).toBe(true);
    // Below the named layer nothing trains, and no batch norm moves its ImageNet statistics.
    expect(changed(start, after, 'Conv1/kernel')).toBe(false);
    expect(changed(start, after, 'expanded_conv_project/kernel')).toBe(false);
    expect(changed(start, after, 'block_1_expand_BN/moving_mean')).toBe(false);
    expect(changed(start, after, 'block_1_project_BN/moving_variance')).toBe(false);
    model.dispose();
    model2.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  }, 180_000);

  it('a run stopped after its first unfrozen epoch and resumed ends with the weights of an uninterrupted run', async () => {
    const run = tempDir('simkit-fine-tuning-run-');
    const failAt = (call: number) => {
      let calls = 0;
      return () => {
        calls += 1;
        if (calls === call) return Promise.reject(new Error('interrupted'));
        return Promise.resolve({ 'MAP@R': 0.5 });
      };
    };
    try {
      const straight = smallBackbone();
      await train(straight, 3, { validate: failAt(0) });
      const stopped = smallBackbone();
      await expect(train(stopped, 3, { runDir: run.dir, validate: failAt(3) })).rejects.toThrow('interrupted');
      stopped.dispose();
      const resumed = smallBackbone();
      const result = await train(resumed, 3, { runDir: run.dir, resume: true, validate: failAt(0) });
      expect(result.resumedFrom).toBe(2);
      expect(result.history.map((record) => record.phase)).toEqual(['head-only', 'unfrozen', 'unfrozen']);
      const [a, b] = [snapshot(straight), snapshot(resumed)];
      for (const [name, values] of a) expect(Array.from(b.get(name)!), name).toEqual(Array.from(values));
      straight.dispose();
      resumed.dispose();
    } finally {
      run.cleanup();
    }
  }, 240_000);

  it('refuses a model without a pretrained part and an unknown layer, before training', () => {
    const plain = mlp({ hidden: [4] })({ height: 1, width: 1, channels: 4 }, 2, 1);
    expect(() => new FineTuningPhases(plain, PHASES)).toThrow(UserError);
    const model = smallBackbone();
    expect(() => new FineTuningPhases(model, { ...PHASES, unfreeze: 'block_9_expand' })).toThrow(
      /no layer of that name/,
    );
    model.dispose();
    plain.dispose();
  });
});
