import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CompetitionConfig } from '../../../core/contracts/competition.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { runCompetition } from '../../../core/pipeline/run.js';
import { SHOPEE_CONFIG } from '../../../competitions/shopee/shopee.js';
import { loggedEpochs } from '../../json-files.js';

const { image, text } = SHOPEE_CONFIG.models;

/**
 * Shopee with two image models of different sizes and backbones beside the text model: Shopee's image model
 * (MobileNetV2) at 32 px and a small plain CNN at 24 px; one match source combines all three.
 */
const THREE_MODELS: Partial<CompetitionConfig> = {
  models: {
    image: { ...image!, input: 'image', imageSize: 32, epochs: 1 },
    'image-small': {
      ...image!,
      input: 'image',
      imageSize: 24,
      backbone: { name: 'plain-cnn', options: { stages: [[8], [16]], hidden: 32 } },
      embeddingSize: 32,
      epochs: 1,
    },
    text: { ...text!, epochs: 1 },
  },
  postProcessors: [
    { name: 'min2', options: { threshold: 0.6, floor: 0.3 } },
    { name: 'phash', options: {} },
    { name: 'model-match', options: { model: 'text', threshold: 0.8, neighbours: 50 } },
    { name: 'combined', options: { models: ['image', 'image-small', 'text'], threshold: 0.7, neighbours: 50 } },
  ],
  tune: { 'min2.threshold': [0.7, 1.01], 'combined.threshold': [0.6, 0.8] },
};

describe('named models', () => {
  let app: Simkit;
  beforeAll(async () => {
    await initEngine('native');
    app = await Simkit.create();
  });

  it(
    'two image models (different sizes and backbones) and the text model run end to end on the Shopee sample',
    { timeout: 300_000 },
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'simkit-named-models-'));
      const summary = await runCompetition(app, {
        competition: 'shopee',
        out,
        leaderboard: join(out, 'leaderboard.sqlite'),
        overrides: THREE_MODELS,
      });
      // Each model trained one epoch in its own folder and saved its model there.
      for (const name of ['image', 'image-small', 'text']) {
        expect(loggedEpochs(join(summary.runDir, name)), name).toHaveLength(1);
        expect(existsSync(join(summary.runDir, name, 'model', 'model.json')), name).toBe(true);
      }
      expect(summary.validation).toEqual(expect.any(Number));
      expect(summary.test?.score).toEqual(expect.any(Number));
      expect(summary.validation!).toBeGreaterThan(summary.baselines['self only']!);
      // The chain reads three models: a baseline leaves out each of them in turn.
      expect(Object.keys(summary.baselines)).toEqual([
        'self only',
        'phash only',
        'without trained models',
        'without the image model',
        'without the text model',
        'without the image-small model',
        "Kaggle's sample submission",
      ]);
      expect(summary.baselines['without the image-small model']).toEqual(expect.any(Number));
      const used = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as CompetitionConfig;
      expect(Object.keys(used.models)).toEqual(['image', 'image-small', 'text']);
      expect(used.models['image-small']).toMatchObject({ imageSize: 24, backbone: { name: 'plain-cnn' } });
      // Each stage and each model's training is a phase of the run, with its time, items and peak memory.
      expect(summary.phases.map((p) => p.name).filter((name) => !name.endsWith('embed images'))).toEqual([
        'prepare',
        'train',
        'train/image',
        'train/image-small',
        'train/text',
        'train/text/embed texts',
        'validate',
        'validate/embed texts',
        'validate/tune',
        'predict',
        'predict/embed texts',
      ]);
      const phase = (name: string) => summary.phases.find((p) => p.name === name)!;
      // One epoch each over the same training items; a phase lasts at least as long as the phases inside it.
      expect(phase('train/text').items).toBeGreaterThan(100);
      expect(phase('train/image').items).toBe(phase('train/text').items);
      expect(phase('train').seconds).toBeGreaterThanOrEqual(phase('train/image').seconds + phase('train/text').seconds);
      expect(phase('validate/tune').items).toBe(phase('validate/embed texts').items);
      for (const p of summary.phases) expect(p.peakRssMb, p.name).toBeGreaterThan(50);
      expect(JSON.parse(readFileSync(join(summary.runDir, 'phases.json'), 'utf8'))).toEqual(summary.phases);
    },
  );
});
