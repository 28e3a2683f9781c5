import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Competition, ImageModelConfig, Item, TestSet } from '../../../core/contracts/competition.js';
import { SAMPLE_SOLUTION_FILE } from '../../../core/contracts/competition.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { UserError } from '../../../core/errors.js';
import { loadImages } from '../../../core/data/images.js';
import { loadModel } from '../../../core/models/io.js';
import { embedInChunks, imageInputs } from '../../../core/pipeline/model-inputs.js';
import { effectiveConfig, findCompetition } from '../../../core/pipeline/prepare.js';
import { runCompetition, type RunSummary } from '../../../core/pipeline/run.js';
import { resolveScoringSpec } from '../../../core/scoring/registration.js';
import { scoreFiles } from '../../../core/scoring/score.js';
import { readCsvFile } from '../../../test/competitions/helpers.js';
import { EXPORT_TOLERANCE, LOCAL_SCORE_FILE, SUBMISSION_MODEL_DIR } from '../export.js';
import { RETRIEVAL_2020_CONFIG, RETRIEVAL_2020_SLUG } from '../landmark-retrieval-2020.js';

/** The image model the run trains and the host ran. */
const IMAGE = RETRIEVAL_2020_CONFIG.models.image as ImageModelConfig;

const root = mkdtempSync(join(tmpdir(), 'simkit-glr2020-'));
const out = join(root, 'out');
let app: Simkit;
let adapter: Competition;
let summary: RunSummary;
let test: TestSet;
/** The exported model's outputs for the test queries and the index, read back from disk. */
let exported: { queries: Float32Array; index: Float32Array };
let dim: number;

/** Writes `config` as `<root>/<name>.json` and returns its path. */
function configFile(name: string, config: object): string {
  const path = join(root, `${name}.json`);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** A model's raw outputs for items, decoded as the run decodes them. */
async function outputs(model: tf.LayersModel, items: readonly Item[], size: number): Promise<Float32Array> {
  const { data } = await loadImages(items, { size, channels: 3 });
  const x = tf.tensor4d(data, [items.length, size, size, 3]);
  const y = model.predict(x) as tf.Tensor;
  const values = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  return values;
}

beforeAll(async () => {
  await initEngine('native');
  app = await Simkit.create();
  adapter = findCompetition(app, RETRIEVAL_2020_SLUG).competition;
  summary = await runCompetition(app, {
    competition: RETRIEVAL_2020_SLUG,
    out,
    leaderboard: join(root, 'leaderboard.sqlite'),
    epochs: 2,
  });
  test = await adapter.readTest(join(out, 'sample'));
  const model = await loadModel(join(out, SUBMISSION_MODEL_DIR));
  const size = IMAGE.imageSize;
  exported = { queries: await outputs(model, test.queries, size), index: await outputs(model, test.index!, size) };
  dim = exported.queries.length / test.queries.length;
  model.dispose();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function row(vectors: Float32Array, i: number): Float32Array {
  return vectors.subarray(i * dim, (i + 1) * dim);
}

describe('landmark-retrieval-2020: the model is what Kaggle took', () => {
  it('exports a TF.js model that, reloaded, gives the vectors the run searched within 1e-5, L2-normalised', async () => {
    expect(summary.exportedModel).toBe(join(out, SUBMISSION_MODEL_DIR));
    expect(existsSync(join(out, SUBMISSION_MODEL_DIR, 'weights.bin'))).toBe(true);
    // The run searched l2Normalize(trained model's output): embedInChunks over the model saved by training.
    const trained = await loadModel(join(summary.runDir, 'image', 'model'));
    const items = [...test.queries, ...test.index!];
    const searched = new Float32Array(items.length * dim);
    await embedInChunks(trained, items, imageInputs(adapter, IMAGE), (start, chunk) =>
      searched.set(chunk, start * dim),
    );
    trained.dispose();
    const reloaded = new Float32Array([...exported.queries, ...exported.index]);
    let largest = 0;
    for (let i = 0; i < reloaded.length; i++) largest = Math.max(largest, Math.abs(reloaded[i]! - searched[i]!));
    // The run's embedding folds batch norms into the convolutions (core/engine/inference.ts); the exported model
    // runs them as layers: the same function, rounded differently.
    expect(largest).toBeLessThanOrEqual(1e-5);
    for (let i = 0; i < items.length; i++) {
      let norm = 0;
      for (const value of row(reloaded, i)) norm += value * value;
      expect(Math.sqrt(norm)).toBeCloseTo(1, 6);
    }
  });

  it("wrote the host's search over the exported model: the 100 nearest index images by L2 distance", () => {
    const submission = readCsvFile(summary.submission);
    expect(submission.header).toEqual(['id', 'images']);
    const expected = test.queries.map((query, q) => {
      const ranked = test.index!.map((item, i) => {
        let distance = 0;
        const a = row(exported.queries, q);
        const b = row(exported.index, i);
        for (let d = 0; d < dim; d++) distance += (a[d]! - b[d]!) ** 2;
        return { id: item.id, distance };
      });
      ranked.sort((x, y) => x.distance - y.distance);
      return [
        query.id,
        ranked
          .slice(0, 100)
          .map((entry) => entry.id)
          .join(' '),
      ];
    });
    expect(submission.rows).toEqual(expected);
  });

  it('records the local score of that search next to the model', async () => {
    const card = JSON.parse(readFileSync(join(out, LOCAL_SCORE_FILE), 'utf8')) as {
      competition: string;
      metric: string;
      validation: number;
      test: { score: number; public: number; private: number };
      model: { reproduced: { queries: number; largestDifference: number }; savedModel: string };
    };
    const spec = resolveScoringSpec(app, RETRIEVAL_2020_SLUG);
    const rescored = await scoreFiles(spec, join(out, 'sample', SAMPLE_SOLUTION_FILE), summary.submission);
    expect([card.competition, card.metric]).toEqual([RETRIEVAL_2020_SLUG, 'mAP@100']);
    expect(card.test).toEqual({ score: rescored.score, public: rescored.public, private: rescored.private });
    expect(card.test.score).toBe(summary.test!.score);
    expect(card.validation).toBe(summary.validation);
    expect(card.model.reproduced.queries).toBe(test.queries.length);
    expect(card.model.reproduced.largestDifference).toBeLessThanOrEqual(EXPORT_TOLERANCE);
    expect(card.model.savedModel).toContain('tensorflowjs_converter --input_format=tfjs_layers_model');
  });

  it('exports without leaking tensors', async () => {
    const items = test.queries;
    const queries = { items, vectors: exported.queries };
    const again = join(root, 'again');
    const before = tf.memory().numTensors;
    await adapter.exportModel!({
      out: again,
      modelDir: join(summary.runDir, 'image'),
      model: IMAGE,
      config: adapter.config,
      queries,
      validation: null,
      test: null,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(existsSync(join(again, SUBMISSION_MODEL_DIR, 'model.json'))).toBe(true);
  });

  it('fails, as a bug, when the model does not reproduce the vectors it is handed', async () => {
    const vectors = exported.queries.slice();
    vectors[3] = vectors[3]! + 1e-3;
    const error = await adapter.exportModel!({
      out: join(root, 'tampered'),
      modelDir: join(summary.runDir, 'image'),
      model: IMAGE,
      config: adapter.config,
      queries: { items: test.queries, vectors },
      validation: null,
      test: null,
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UserError);
    expect((error as Error).message).toContain('does not reproduce the vectors the run scored');
    expect(existsSync(join(root, 'tampered', SUBMISSION_MODEL_DIR))).toBe(false);
    expect(existsSync(join(root, 'tampered', LOCAL_SCORE_FILE))).toBe(false);
  });

  it('refuses, from a config file, post-processing or another search before any work: the host searched itself', async () => {
    const refused = async (name: string, config: object) => {
      const file = configFile(name, config);
      const error = await effectiveConfig(app, { competition: RETRIEVAL_2020_SLUG, config: file }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).message.startsWith(`${file}: `)).toBe(true);
      return (error as UserError).message;
    };
    const postProcessing = {
      postProcessors: [{ name: 'query-expansion', options: {} }],
      tune: { 'query-expansion.neighbours': [0, 1] },
    };
    expect(await refused('query-expansion', postProcessing)).toContain(
      'postProcessors (query-expansion) cannot be part of a landmark-retrieval-2020 submission',
    );
    expect(await refused('flat', { indexer: { name: 'flat', options: {} } })).toContain(
      'indexer flat with 100 neighbours is not the search landmark-retrieval-2020 was scored with',
    );
    expect(await refused('twenty', { neighbours: 20 })).toContain('with 20 neighbours');
    const allowed = configFile('epochs', { models: { image: { epochs: 3 } } });
    await expect(effectiveConfig(app, { competition: RETRIEVAL_2020_SLUG, config: allowed })).resolves.toMatchObject({
      models: { image: { epochs: 3 } },
    });
  });

  it('refuses, before any work, test vectors that one exported model cannot give: several views, several models', async () => {
    const refusal = async (name: string, config: object, folds?: number) => {
      const file = configFile(name, config);
      const options = { competition: RETRIEVAL_2020_SLUG, config: file, ...(folds ? { folds } : {}) };
      const error = await effectiveConfig(app, options).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(UserError);
      return (error as UserError).message;
    };
    expect(await refusal('tta', { models: { image: { tta: { flip: true } } } })).toContain(
      'models.image.tta averages several views of each image',
    );
    expect(await refusal('fold-average', {}, 3)).toContain('--folds 3 with folds.final: folds averages 3 models');
    const full = configFile('full', { folds: { final: 'full' } });
    await expect(
      effectiveConfig(app, { competition: RETRIEVAL_2020_SLUG, config: full, folds: 3 }),
    ).resolves.toMatchObject({ folds: { count: 3, final: 'full' } });
  });

  it.each([
    ['the pseudo-labels round', { pseudoLabels: { enabled: true } }, undefined, 'pseudo-labels'],
    ['folds.final: full', { folds: { final: 'full' } }, 2, 'full'],
  ])('exports the model that embedded the test after %s', async (_, config, folds, folder) => {
    const runOut = join(root, `export-${folder}`);
    const file = configFile(`export-${folder}`, config);
    await runCompetition(app, {
      competition: RETRIEVAL_2020_SLUG,
      out: runOut,
      config: file,
      leaderboard: join(root, 'leaderboard.sqlite'),
      epochs: 1,
      ...(folds ? { folds } : {}),
    });
    const card = JSON.parse(readFileSync(join(runOut, LOCAL_SCORE_FILE), 'utf8')) as {
      model: { reproduced: { largestDifference: number } };
    };
    expect(card.model.reproduced.largestDifference).toBeLessThanOrEqual(EXPORT_TOLERANCE);
    expect(existsSync(join(runOut, 'run', folder, 'image', 'model', 'model.json'))).toBe(true);
  });
});
