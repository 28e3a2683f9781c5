import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackboneBuilder } from '../../../core/contracts/backbone.js';
import type { Item, TextModelConfig } from '../../../core/contracts/competition.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { formatTrainSummary } from '../../../core/cli/commands/train.js';
import { trainEmbeddingModel } from '../../../core/pipeline/embedding-model.js';
import { embedInChunks, modelInputs } from '../../../core/pipeline/model-inputs.js';
import { findCompetition } from '../../../core/pipeline/prepare.js';
import { trainOnly } from '../../../core/pipeline/train.js';
import { Random } from '../../../core/random.js';
import { SHOPEE_CONFIG } from '../../../competitions/shopee/shopee.js';

// Each class is a concept with four synonyms; a title names two of them among three words of noise
// shared by all classes. Held-out titles often share no word with a given title of their class, so
// matching them needs what training learns: which words mean the same.
const CLASSES = 12;
const SYNONYMS = 4;
const NOISE = Array.from({ length: 30 }, (_, i) => `noise${i}`);

function titles(count: number, random: Random): Item[] {
  return Array.from({ length: count }, (_, i) => {
    const label = i % CLASSES;
    const words = random.shuffle(Array.from({ length: SYNONYMS }, (_, s) => `concept${label}x${s}`)).slice(0, 2);
    const noise = random.shuffle([...NOISE]).slice(0, 3);
    return { id: `t${i}`, labels: [String(label)], text: random.shuffle([...words, ...noise]).join(' '), extra: {} };
  });
}

function precisionAt1(vectors: Float32Array, dim: number, items: readonly Item[]): number {
  let hits = 0;
  for (let q = 0; q < items.length; q++) {
    let best = -1;
    let bestSimilarity = -Infinity;
    for (let g = 0; g < items.length; g++) {
      if (g === q) continue;
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += vectors[q * dim + d]! * vectors[g * dim + d]!;
      if (dot > bestSimilarity) [best, bestSimilarity] = [g, dot];
    }
    if (items[best]!.labels[0] === items[q]!.labels[0]) hits += 1;
  }
  return hits / items.length;
}

describe('text model (hashed n-grams → text-encoder → ArcFace)', () => {
  let app: Simkit;
  beforeAll(async () => {
    await initEngine('native');
    app = await Simkit.create();
  });

  const spec: TextModelConfig = {
    ...(SHOPEE_CONFIG.models.text as TextModelConfig),
    epochs: 6,
    batchSize: 48,
    embeddingSize: 32,
    training: { augment: {}, warmupEpochs: 1 },
  };

  it(
    'learns synonyms that an untrained encoder cannot match; no tensors left behind; model and checkpoints saved',
    { timeout: 60_000 },
    async () => {
      const random = new Random(5);
      const train = titles(240, random);
      const validation = titles(96, random);
      const inputs = modelInputs(app, findCompetition(app, 'shopee').competition, 'text', spec);
      expect(inputs.shape).toEqual({ height: 1, width: spec.maxTokens, channels: 1 });

      const untrained = app.registry<BackboneBuilder>('Backbone').create('text-encoder', spec.backbone.options)(
        inputs.shape,
        spec.embeddingSize,
        7,
      );
      const before = new Float32Array(validation.length * spec.embeddingSize);
      await embedInChunks(untrained, validation, inputs, (start, vectors) =>
        before.set(vectors, start * spec.embeddingSize),
      );
      untrained.dispose();

      const tensors = tf.memory().numTensors;
      const runDir = mkdtempSync(join(tmpdir(), 'simkit-text-model-'));
      const model = await trainEmbeddingModel(
        app,
        'text',
        spec,
        inputs,
        { train, validation },
        { dir: runDir, seed: 7 },
      );
      const after = await model.embed(validation);
      model.dispose();
      expect(tf.memory().numTensors).toBe(tensors);

      const untrainedP1 = precisionAt1(before, spec.embeddingSize, validation);
      const trainedP1 = precisionAt1(after, spec.embeddingSize, validation);
      expect(trainedP1).toBeGreaterThan(0.9);
      expect(trainedP1).toBeGreaterThan(untrainedP1 + 0.3);
      expect(model.training.history.at(-1)!.validation!['precision@1']).toBeCloseTo(trainedP1, 6);
      expect(existsSync(join(runDir, 'model', 'model.json'))).toBe(true);
      expect(existsSync(join(runDir, 'checkpoints', 'latest.json'))).toBe(true);
    },
  );

  it(
    'simkit train on Shopee trains the image and the text model, each resumable from its own checkpoints',
    { timeout: 300_000 },
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'simkit-train-shopee-'));
      const options = {
        competition: 'shopee',
        out,
        overrides: {
          models: {
            image: { ...SHOPEE_CONFIG.models.image!, epochs: 1 },
            text: { ...SHOPEE_CONFIG.models.text!, epochs: 2 },
          },
        },
      };
      const first = await trainOnly(app, options);
      expect(first.models.map((model) => [model.name, model.history.length])).toEqual([
        ['image', 1],
        ['text', 2],
      ]);
      expect(first.models[1]!.model).toBe(join(out, 'run', 'text', 'model'));
      expect(existsSync(join(first.models[1]!.model, 'model.json'))).toBe(true);
      const resumed = await trainOnly(app, {
        ...options,
        resume: true,
        overrides: {
          models: {
            image: { ...SHOPEE_CONFIG.models.image!, epochs: 2 },
            text: { ...SHOPEE_CONFIG.models.text!, epochs: 2 },
          },
        },
      });
      expect(resumed.models.map((model) => [model.name, model.resumedFrom, model.history.length])).toEqual([
        ['image', 1, 2],
        ['text', 2, 2],
      ]);
      expect(formatTrainSummary(resumed)).toMatch(/trained the text model for 2 epoch\(s\) \(resumed after epoch 2\)/);
    },
  );

  it('refuses a backbone without token buckets', () => {
    const shopee = findCompetition(app, 'shopee').competition;
    expect(() => modelInputs(app, shopee, 'text', { ...spec, backbone: { name: 'mlp', options: {} } })).toThrow(
      /needs a token backbone/,
    );
  });
});
