import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Competition, ImageModelConfig, Item, TtaConfig } from '../../../core/contracts/competition.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { loadImages } from '../../../core/data/images.js';
import { createObjective } from '../../../core/losses/objective.js';
import { checkConfig } from '../../../core/pipeline/config-check.js';
import { completeConfig, NO_TTA } from '../../../core/pipeline/config.js';
import { IMAGE_CLASSIFICATION_CONFIG, IMAGE_MODEL } from '../../../core/pipeline/defaults.js';
import { trainEmbeddingModel } from '../../../core/pipeline/embedding-model.js';
import { cropBoxes, embedInChunks, imageInputs, imageSizeAt } from '../../../core/pipeline/model-inputs.js';
import { Random } from '../../../core/random.js';
import { trainEmbedding } from '../../../core/training/trainer.js';
import { residualCnn } from '../../../plugins/backbones/residual-cnn.js';

const COMPETITION = { modality: 'image' } as Competition;
const CLASSES = 3;

/** `count` small photos: each class its own colour gradient, noise per image. */
async function photos(count: number): Promise<Item[]> {
  const dir = mkdtempSync(join(tmpdir(), 'simkit-tta-'));
  const random = new Random(4);
  const side = 20;
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const label = i % CLASSES;
      const pixels = Buffer.alloc(side * side * 3);
      for (let y = 0; y < side; y++)
        for (let x = 0; x < side; x++)
          for (let c = 0; c < 3; c++)
            pixels[(y * side + x) * 3 + c] = Math.min(
              255,
              (c === label ? 12 * x : 6 * y) + Math.floor(random.uniform(0, 60)),
            );
      const path = join(dir, `${i}.png`);
      await sharp(pixels, { raw: { width: side, height: side, channels: 3 } })
        .png()
        .toFile(path);
      return { id: String(i), labels: [String(label)], imagePath: path, extra: {} };
    }),
  );
}

/** TF's crop-and-resize (bilinear, box corners on the first and last pixel centres) of one H×W×C image, in float64. */
function cropAndResize(image: Float32Array, side: number, box: readonly number[], out: number): Float64Array {
  const [y1, x1, y2, x2] = box as [number, number, number, number];
  const result = new Float64Array(out * out * 3);
  const at = (y: number, x: number, c: number) => image[(y * side + x) * 3 + c]!;
  for (let i = 0; i < out; i++) {
    const inY = y1 * (side - 1) + (i * (y2 - y1) * (side - 1)) / (out - 1);
    const top = Math.floor(inY);
    const bottom = Math.min(side - 1, Math.ceil(inY));
    for (let j = 0; j < out; j++) {
      const inX = x1 * (side - 1) + (j * (x2 - x1) * (side - 1)) / (out - 1);
      const left = Math.floor(inX);
      const right = Math.min(side - 1, Math.ceil(inX));
      for (let c = 0; c < 3; c++) {
        const upper = at(top, left, c) + (at(top, right, c) - at(top, left, c)) * (inX - left);
        const lower = at(bottom, left, c) + (at(bottom, right, c) - at(bottom, left, c)) * (inX - left);
        result[(i * out + j) * 3 + c] = upper + (lower - upper) * (inY - top);
      }
    }
  }
  return result;
}

function mirrored(image: ArrayLike<number>, side: number): Float64Array {
  const result = new Float64Array(side * side * 3);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++)
      for (let c = 0; c < 3; c++) result[(y * side + x) * 3 + c] = image[(y * side + (side - 1 - x)) * 3 + c]!;
  return result;
}

describe('image model inputs', () => {
  let app: Simkit;
  let items: Item[];
  beforeAll(async () => {
    await initEngine('native');
    app = await Simkit.create();
    items = await photos(12);
  });

  it('test-time augmentation: the embedding is the mean of the views’ embeddings computed one by one, normalised', async () => {
    const size = 16;
    const tta: TtaConfig = { flip: true, sizes: [12], crops: 5, cropScale: 0.75 };
    const model = residualCnn({ widths: [4, 8], blocks: 1, dropout: 0 })(
      { height: size, width: size, channels: 3, anySize: true },
      5,
      3,
    );
    const chosen = items.slice(0, 4);
    const before = tf.memory().numTensors;
    const averaged = new Float32Array(chosen.length * 5);
    await embedInChunks(model, chosen, imageInputs(COMPETITION, { imageSize: size, tta }), (start, vectors) =>
      averaged.set(vectors, start * 5),
    );
    expect(tf.memory().numTensors).toBe(before);

    const full = (await loadImages(chosen, { size, channels: 3 })).data;
    const smaller = (await loadImages(chosen, { size: 12, channels: 3 })).data;
    const embedOne = (pixels: ArrayLike<number>, side: number): number[] =>
      tf.tidy(() =>
        Array.from((model.predict(tf.tensor4d(Array.from(pixels), [1, side, side, 3])) as tf.Tensor).dataSync()),
      );
    chosen.forEach((_, i) => {
      const image = full.subarray(i * size * size * 3, (i + 1) * size * size * 3);
      const small = smaller.subarray(i * 144 * 3, (i + 1) * 144 * 3);
      const views: [ArrayLike<number>, number][] = [
        [image, size],
        ...cropBoxes(5, 0.75).map((box): [ArrayLike<number>, number] => [cropAndResize(image, size, box, size), size]),
        [small, 12],
      ];
      const all = [
        ...views,
        ...views.map(([pixels, side]): [ArrayLike<number>, number] => [mirrored(pixels, side), side]),
      ];
      expect(all).toHaveLength(14);
      const mean = new Float64Array(5);
      for (const [pixels, side] of all) embedOne(pixels, side).forEach((value, j) => (mean[j]! += value / all.length));
      const norm = Math.hypot(...mean);
      for (let j = 0; j < 5; j++) expect(averaged[i * 5 + j]).toBeCloseTo(mean[j]! / norm, 5);
    });
    // The augmented embedding differs from the plain one: the views are really there.
    const plain = new Float32Array(chosen.length * 5);
    await embedInChunks(model, chosen, imageInputs(COMPETITION, { imageSize: size, tta: NO_TTA }), (start, vectors) =>
      plain.set(vectors, start * 5),
    );
    expect(Math.max(...plain.map((value, j) => Math.abs(value - averaged[j]!)))).toBeGreaterThan(1e-3);
    model.dispose();
  });

  it('progressive sizes: each epoch trains at its size, and imageSize after the last step', () => {
    const config = {
      imageSize: 16,
      progressiveSizes: [
        { until: 2, size: 8 },
        { until: 4, size: 12 },
      ],
    };
    expect([0, 1, 2, 3, 4, 9].map((epoch) => imageSizeAt(config, epoch))).toEqual([8, 8, 12, 12, 16, 16]);
    expect(imageSizeAt({ imageSize: 16 }, 0)).toBe(16);
  });

  it('progressive sizes: batches have each epoch’s size, and a resumed run ends as the uninterrupted one', async () => {
    const config: Pick<ImageModelConfig, 'imageSize' | 'progressiveSizes'> = {
      imageSize: 16,
      progressiveSizes: [
        { until: 1, size: 8 },
        { until: 2, size: 12 },
      ],
    };
    const labels = Int32Array.from(items, (item) => Number(item.labels[0]));
    const train = async (runDir: string, options: { resume?: boolean; interruptAt?: number }) => {
      const inputs = imageInputs(COMPETITION, config);
      const model = residualCnn({ widths: [4], blocks: 1, dropout: 0 })(inputs.shape, 4, 7);
      const objective = createObjective(
        app,
        { head: 'arcface', headOptions: { margin: 0.2, scale: 8 } },
        {
          embeddingDim: 4,
          numClasses: CLASSES,
        },
      );
      const data = inputs.trainingData(items, labels, { augment: {}, seed: 3 });
      const sides: number[] = [];
      const watched = {
        ...data,
        async *batches(...args: Parameters<typeof data.batches>) {
          for await (const batch of data.batches(...args)) {
            sides.push(batch.x.shape[1]!);
            yield batch;
          }
        },
      };
      let validations = 0;
      try {
        await trainEmbedding(model, objective, watched, {
          epochs: 3,
          batchSize: 6,
          learningRate: 0.01,
          headLearningRateFactor: 2,
          warmupEpochs: 1,
          clipNorm: 5,
          seed: 9,
          runDir,
          resume: options.resume,
          progress: false,
          validate: () => {
            validations += 1;
            if (validations === options.interruptAt) throw new Error('interrupted');
            return Promise.resolve({ 'MAP@R': 0.5 });
          },
        });
        return { sides, weights: model.getWeights().map((w) => Array.from(w.dataSync())) };
      } finally {
        objective.dispose();
        model.dispose();
      }
    };
    const straight = await train(mkdtempSync(join(tmpdir(), 'simkit-progressive-')), {});
    expect(straight.sides).toEqual([8, 8, 12, 12, 16, 16]);
    const dir = mkdtempSync(join(tmpdir(), 'simkit-progressive-'));
    await expect(train(dir, { interruptAt: 2 })).rejects.toThrow('interrupted');
    const resumed = await train(dir, { resume: true });
    // Epoch 1 was checkpointed; the resumed run trains epochs 2 and 3 at their own sizes.
    expect(resumed.sides).toEqual([12, 12, 16, 16]);
    expect(resumed.weights).toEqual(straight.weights);
  });

  /** Builds and trains an image model of `spec` on the photos: what a run does with it. */
  const trainImageModel = (spec: ImageModelConfig) =>
    trainEmbeddingModel(
      app,
      'image',
      spec,
      imageInputs(COMPETITION, spec),
      { train: items, validation: [] },
      {
        dir: mkdtempSync(join(tmpdir(), 'simkit-any-size-')),
        seed: 1,
      },
    );

  it('refuses progressive sizes or test-time sizes with a backbone that needs a fixed size, naming the fix', async () => {
    const plain = {
      ...IMAGE_MODEL,
      backbone: { name: 'plain-cnn', options: { stages: [[4]], hidden: 0 } },
      epochs: 2,
      progressiveSizes: [{ until: 1, size: 8 }],
      imageSize: 16,
    };
    await expect(trainImageModel(plain)).rejects.toThrow(
      /backbone plain-cnn takes only 16×16 images.*need a backbone that takes any image size/,
    );
    // A flattened map cannot be built without a fixed size at all.
    const flattened = {
      ...IMAGE_MODEL,
      imageSize: 32,
      backbone: { name: 'mobilenet-v2', options: { layer: 'block_2_add', pooling: 'flatten' } },
      tta: { ...NO_TTA, sizes: [48] },
    };
    await expect(trainImageModel(flattened)).rejects.toMatchObject({
      message: expect.stringMatching(/^backbone mobilenet-v2 cannot be built without a fixed image size/),
      hint: expect.stringMatching(/pooling gem or average/),
    });
  });

  it.each([
    [{ progressiveSizes: [{ until: 0, size: 8 }] }, /progressiveSizes\.0\.until\): expected an epoch after 0, got 0/],
    [
      {
        progressiveSizes: [
          { until: 2, size: 8 },
          { until: 2, size: 12 },
        ],
      },
      /progressiveSizes\.1\.until\): expected an epoch after 2/,
    ],
    [{ progressiveSizes: [{ until: 10, size: 8 }] }, /epoch 10 leaves no epoch of the 10 at imageSize 32/],
    [{ progressiveSizes: [{ until: 3, size: 0 }] }, /progressiveSizes\.0\.size\): expected an image side in pixels/],
    [{ progressiveSizes: { until: 3 } }, /expected a list/],
    [{ tta: { ...NO_TTA, crops: 4 } }, /tta\.crops\): expected 0 \(none\), 1 \(the centre\) or 5/],
    [{ tta: { ...NO_TTA, sizes: [0] } }, /tta\.sizes\)/],
    [{ tta: { ...NO_TTA, cropScale: 1.5 } }, /tta\.cropScale\)/],
  ])('refuses the image model setting %j, naming the key', (change, message) => {
    const config = completeConfig({
      ...IMAGE_CLASSIFICATION_CONFIG,
      models: { image: { ...IMAGE_MODEL, ...(change as Partial<ImageModelConfig>) } },
    });
    expect(() => checkConfig(config, 'my.yaml')).toThrow(message);
  });
});
