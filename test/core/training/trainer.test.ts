import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadImages } from '../../../core/data/images.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { createObjective } from '../../../core/losses/objective.js';
import { Random } from '../../../core/random.js';
import { warmupCosine } from '../../../core/training/schedule.js';
import { imageStreamData, inMemoryData, type TrainingData } from '../../../core/training/data.js';
import { clipByGlobalNorm } from '../../../core/training/step.js';
import { trainEmbedding } from '../../../core/training/trainer.js';
import { mlp } from '../../../plugins/backbones/mlp.js';
import { pkEpoch } from '../../../plugins/samplers/pk.js';

describe('training', () => {
  let app: Simkit;
  beforeAll(async () => {
    await initEngine('native');
    app = await Simkit.create();
  });

  it('warm-up then cosine decay', () => {
    expect(warmupCosine(0, 100, 10, 1)).toBeCloseTo(0.1);
    expect(warmupCosine(9, 100, 10, 1)).toBeCloseTo(1);
    expect(warmupCosine(10, 100, 10, 1)).toBeCloseTo(1);
    expect(warmupCosine(55, 100, 10, 1)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI * 0.5)));
    expect(warmupCosine(100, 100, 10, 1, 0.1)).toBeCloseTo(0.1);
  });

  it('clips gradients by their global norm', () => {
    const clipped = clipByGlobalNorm({ a: tf.tensor1d([3, 0]), b: tf.tensor1d([4]) }, 1);
    expect(Array.from(clipped.a!.dataSync())).toEqual([expect.closeTo(0.6), 0]);
    expect(clipped.b!.dataSync()[0]).toBeCloseTo(0.8);
    tf.dispose(Object.values(clipped));
  });

  it('P×K batches cover every class each epoch, K per class, repeating small classes', () => {
    const labels = ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'c'];
    const batches = pkEpoch(labels, { classesPerBatch: 2, samplesPerClass: 2 }, new Random(1));
    const seen = new Set(batches.flatMap((b) => b.indices.map((i) => labels[i])));
    expect(seen).toEqual(new Set(['a', 'b', 'c']));
    for (const batch of batches) expect(batch.indices.length % 2).toBe(0);
    const c = batches
      .flatMap((b) => b.indices.map((index, i) => ({ index, repeated: b.repeated[i] })))
      .filter((x) => labels[x.index] === 'c');
    expect(c).toEqual([
      { index: 7, repeated: false },
      { index: 7, repeated: true },
    ]);
  });

  it('learns separable classes, is deterministic for a seed, and leaks no tensors across epochs', async () => {
    const random = new Random(3);
    const count = 64;
    const data = new Float32Array(count * 8);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      labels[i] = i % 4;
      for (let j = 0; j < 8; j++) data[i * 8 + j] = (j === labels[i]! * 2 ? 2 : 0) + random.uniform(-0.3, 0.3);
    }
    const run = async () => {
      const model = mlp({ hidden: [16] })({ height: 1, width: 1, channels: 8 }, 4, 5);
      const objective = createObjective(
        app,
        { head: 'arcface', headOptions: { margin: 0.2, scale: 8 } },
        { embeddingDim: 4, numClasses: 4 },
      );
      const before = tf.memory().numTensors;
      const { history } = await trainEmbedding(
        model,
        objective,
        { data, shape: [1, 1, 8], labels },
        {
          epochs: 3,
          batchSize: 16,
          learningRate: 0.01,
          headLearningRateFactor: 1,
          warmupEpochs: 0,
          clipNorm: 5,
          seed: 9,
          flip: false,
          runDir: mkdtempSync(join(tmpdir(), 'simkit-train-')),
        },
      );
      const after = tf.memory().numTensors;
      const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
      objective.dispose();
      model.dispose();
      return { history, before, after, weights };
    };
    const first = await run();
    const second = await run();
    expect(first.history.at(-1)!.loss).toBeLessThan(first.history[0]!.loss);
    expect(second.weights).toEqual(first.weights);
    expect(first.after).toBe(first.before);
  });

  it('records the share of each epoch spent waiting for batches', async () => {
    const count = 32;
    const labels = Int32Array.from({ length: count }, (_, i) => i % 4);
    const data = Float32Array.from({ length: count * 8 }, (_, i) => ((i * 13) % 7) / 7);
    const fast = inMemoryData({ data, shape: [1, 1, 8], labels });
    let prepared = 0;
    const slow: TrainingData = {
      labels,
      prepare: async () => void prepared++,
      async *batches(plan, epoch, random) {
        for await (const batch of fast.batches(plan, epoch, random)) {
          await new Promise((resolve) => setTimeout(resolve, 300));
          yield batch;
        }
      },
    };
    const train = async (source: TrainingData) => {
      const model = mlp({ hidden: [8] })({ height: 1, width: 1, channels: 8 }, 4, 2);
      const objective = createObjective(
        app,
        { head: 'arcface', headOptions: { margin: 0.2, scale: 8 } },
        { embeddingDim: 4, numClasses: 4 },
      );
      const options = { epochs: 2, batchSize: 16, learningRate: 0.01, headLearningRateFactor: 1 };
      const { history } = await trainEmbedding(model, objective, source, {
        ...options,
        warmupEpochs: 0,
        clipNorm: 5,
        seed: 3,
        progress: false,
      });
      objective.dispose();
      model.dispose();
      return history.map((record) => record.dataWait!);
    };
    const waits = await train(slow);
    expect(prepared).toBe(1);
    // Two batches of 300 ms each epoch against steps of a few milliseconds on an 8-wide MLP.
    for (const wait of waits) expect(wait).toBeGreaterThan(0.5);
    for (const wait of waits) expect(wait).toBeLessThanOrEqual(1);
    for (const wait of await train(fast)) expect(wait).toBeLessThan(0.5);
  });

  it('decodes images with sharp, honours EXIF orientation, and replaces unreadable files by zeros', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simkit-img-'));
    // 8×8 image: left half white, right half black; EXIF orientation 3 (rotated 180°) shows it mirrored.
    const raw = Buffer.alloc(8 * 8 * 3);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 4; x++) raw.fill(255, (y * 8 + x) * 3, (y * 8 + x) * 3 + 3);
    await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } })
      .png()
      .toFile(join(dir, 'plain.png'));
    await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } })
      .withMetadata({ orientation: 3 })
      .jpeg({ quality: 100 })
      .toFile(join(dir, 'rotated.jpg'));
    const { data, skipped } = await loadImages(
      [
        { id: 'plain', imagePath: join(dir, 'plain.png') },
        { id: 'rotated', imagePath: join(dir, 'rotated.jpg') },
        { id: 'missing', imagePath: join(dir, 'missing.jpg') },
      ],
      { size: 4, channels: 1 },
    );
    expect(skipped).toEqual(['missing']);
    expect(data[0]).toBeGreaterThan(0.9); // plain: top-left white, top-right black
    expect(data[3]).toBeLessThan(0.1);
    expect(data[16]).toBeLessThan(0.1); // rotated: top-left black, top-right white
    expect(data[19]).toBeGreaterThan(0.9);
    expect(Array.from(data.subarray(32)).every((v) => v === 0)).toBe(true);
    await expect(
      loadImages([{ id: 'missing', imagePath: join(dir, 'missing.jpg') }], { size: 2, channels: 1, strict: true }),
    ).rejects.toThrow(/missing\.jpg.*cannot decode/);
  });

  it('streams images through the decoder pool: unreadable files are skipped and counted, or fatal under strict', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simkit-stream-'));
    const items: { id: string; imagePath: string }[] = [];
    for (let i = 0; i < 12; i++) {
      const file = join(dir, `${i}.png`);
      const shade = (i % 2) * 200 + 20;
      await sharp(Buffer.alloc(8 * 8 * 3, shade), { raw: { width: 8, height: 8, channels: 3 } })
        .png()
        .toFile(file);
      items.push({ id: String(i), imagePath: file });
    }
    writeFileSync(items[5]!.imagePath, 'not a png');
    const labels = Int32Array.from(items, (_, i) => i % 2);
    const model = mlp({ hidden: [8] })({ height: 4, width: 4, channels: 3 }, 4, 1);
    const objective = createObjective(
      app,
      { head: 'arcface', headOptions: { margin: 0.2, scale: 8 } },
      { embeddingDim: 4, numClasses: 2 },
    );
    const options = {
      epochs: 2,
      batchSize: 4,
      learningRate: 0.01,
      headLearningRateFactor: 1,
      warmupEpochs: 0,
      clipNorm: 5,
      seed: 1,
      progress: false,
    };
    const stream = (strict: boolean) =>
      imageStreamData(items, labels, { size: 4, channels: 3, augment: { flip: true }, seed: 1, strict, workers: 2 });
    const before = tf.memory().numTensors;
    const { history } = await trainEmbedding(model, objective, stream(false), options);
    expect(history.map((record) => record.skipped)).toEqual([1, 1]);
    expect(tf.memory().numTensors).toBe(before);
    await expect(trainEmbedding(model, objective, stream(true), options)).rejects.toThrow(/5\.png.*cannot decode/);
    objective.dispose();
    model.dispose();
  });
});
