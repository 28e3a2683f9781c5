import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CompetitionConfig, Item } from '../../../core/contracts/competition.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { runCompetition } from '../../../core/pipeline/run.js';
import { SHOPEE_CONFIG } from '../../../competitions/shopee/shopee.js';
import { Random } from '../../../core/random.js';
import {
  checkEnsemble,
  concatenated,
  ensembleEmbedder,
  fitProjection,
  normalizeRows,
  project,
  searchedEmbedder,
} from '../../../core/pipeline/ensemble.js';
import type { EmbeddingModel } from '../../../core/pipeline/embedding-model.js';
import type { TrainedModels } from '../../../core/pipeline/train-models.js';

/** Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations, in float64. */
function jacobiEigen(matrix: number[][]): { values: number[]; vectors: number[][] } {
  const n = matrix.length;
  const a = matrix.map((row) => [...row]);
  const v = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j): number => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p]![q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p]![q]!) < 1e-300) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * a[p]![q]!);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
  }
  return { values: a.map((row, i) => row[i]!), vectors: v };
}

/** Sample covariance (n − 1) of n rows of `dim` values, in float64. */
function covariance(rows: ArrayLike<number>, dim: number): number[][] {
  const n = rows.length / dim;
  const mean = Array.from({ length: dim }, (_, j) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += rows[i * dim + j]!;
    return sum / n;
  });
  return Array.from({ length: dim }, (_, p) =>
    Array.from({ length: dim }, (_, q) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += (rows[i * dim + p]! - mean[p]!) * (rows[i * dim + q]! - mean[q]!);
      return sum / (n - 1);
    }),
  );
}

/** Rows with a few strong directions of different variance, plus noise. */
function spreadRows(count: number, dim: number, seed: number): Float32Array {
  const random = new Random(seed);
  const rows = new Float32Array(count * dim);
  for (let i = 0; i < count; i++)
    for (let j = 0; j < dim; j++) rows[i * dim + j] = random.uniform(-1, 1) * (dim - j) * 0.5 + 0.3 * j;
  return rows;
}

function fakeModels(vectors: Record<string, { dim: number; of: (item: Item) => number[] }>): TrainedModels {
  const byName = new Map<string, EmbeddingModel>(
    Object.entries(vectors).map(([name, { dim, of }]) => [
      name,
      {
        dim,
        training: {} as EmbeddingModel['training'],
        embed: (items: readonly Item[]) => Promise.resolve(Float32Array.from(items.flatMap(of))),
        dispose: () => undefined,
      },
    ]),
  );
  return { byName, dispose: () => undefined };
}

const item = (id: string): Item => ({ id, labels: [], extra: {} });

describe('ensemble', () => {
  it('concatenates each model’s rows times its weight, then L2-normalises (against float64 loops)', () => {
    const a = Float32Array.from([0.6, 0.8, 1, 0]);
    const b = Float32Array.from([0, 0, 1, 0, 0, 1]);
    const rows = normalizeRows(
      concatenated(
        [
          { vectors: a, dim: 2, weight: 2 },
          { vectors: b, dim: 3, weight: 0.5 },
        ],
        2,
      ),
      5,
    );
    const expected = [
      [1.2, 1.6, 0, 0, 0.5],
      [2, 0, 0, 0, 0.5],
    ].flatMap((row) => {
      const norm = Math.sqrt(row.reduce((sum, x) => sum + x * x, 0));
      return row.map((x) => x / norm);
    });
    expect(Array.from(rows).every((value, i) => Math.abs(value - expected[i]!) < 1e-6)).toBe(true);
  });

  it.each([false, true])(
    'PCA%s to a dimension finds the covariance’s top eigenvectors (checked by Jacobi in float64)',
    (whiten) => {
      const dim = 8;
      const dimension = 3;
      const rows = spreadRows(120, dim, 5);
      const projection = fitProjection(rows, dim, { dimension, whiten });
      const eigen = jacobiEigen(covariance(rows, dim));
      const top = eigen.values
        .map((value, index) => ({ value, index }))
        .sort((x, y) => y.value - x.value)
        .slice(0, dimension);
      // Each axis is the eigenvector of one of the top eigenvalues, up to its sign.
      top.forEach(({ index }, a) => {
        const along = eigen.vectors.reduce((sum, row, j) => sum + row[index]! * projection.axes[a]![j]!, 0);
        expect(Math.abs(Math.abs(along) - 1)).toBeLessThan(1e-6);
      });
      // The projected rows have the eigenvalues as variances (or 1 when whitened) and no covariance.
      const projected = covariance(project(rows, dim, projection), dimension);
      for (let p = 0; p < dimension; p++)
        for (let q = 0; q < dimension; q++) {
          const expected = p === q ? (whiten ? 1 : top[p]!.value) : 0;
          expect(Math.abs(projected[p]![q]! - expected)).toBeLessThan(1e-4 * Math.max(1, top[0]!.value));
        }
    },
  );

  it('refuses a PCA wider than the training items span', () => {
    expect(() => fitProjection(spreadRows(4, 8, 1), 8, { dimension: 5, whiten: false })).toThrow(
      /4 training items span at most 3 dimensions/,
    );
  });

  it('searches the weighted concatenation, projected when asked, and says which models took part', async () => {
    const models = fakeModels({
      image: { dim: 2, of: (x) => (Number(x.id) % 2 ? [1, 0] : [0, 1]) },
      text: { dim: 1, of: () => [1] },
    });
    const items = ['1', '2', '3'].map(item);
    const embedder = ensembleEmbedder(
      models,
      { models: { image: 1, text: 0.5 }, pca: null },
      { image: 1, text: 0.5 },
      [],
    );
    expect(embedder.searchModel).toBe('ensemble');
    expect(embedder.dim).toBe(3);
    expect(embedder.description).toBe('ensemble of image ×1, text ×0.5');
    expect(embedder.tuned).toEqual({ 'ensemble.image': 1, 'ensemble.text': 0.5 });
    const norm = Math.sqrt(1.25);
    const { vectors } = await embedder.embed(items);
    expect(Array.from(vectors).map((x) => Math.round(x * 1e6) / 1e6)).toEqual(
      [1, 0, 0.5, 0, 1, 0.5, 1, 0, 0.5].map((x) => Math.round((x / norm) * 1e6) / 1e6),
    );
    expect(Object.keys(await embedder.otherModels(items, items))).toEqual(['image', 'text']);

    const train = Array.from({ length: 12 }, (_, i) => item(String(i)));
    const reduced = ensembleEmbedder(
      models,
      { models: { image: 1, text: 1 }, pca: { dimension: 1, whiten: true } },
      { image: 1, text: 1 },
      train,
    );
    expect(reduced.dim).toBe(1);
    expect(reduced.description).toBe('ensemble of image ×1, text ×1 (PCA-whitened to 1)');
    // One axis separates the odd from the even items: the two kinds land on opposite unit values.
    const signs = Array.from((await reduced.embed(items)).vectors);
    expect(signs.map(Math.abs)).toEqual([1, 1, 1]);
    expect(signs[0]).toBe(-signs[1]!);
    expect(signs[0]).toBe(signs[2]);
  });

  it('tunes the weights on the given score and keeps the best', async () => {
    const models = fakeModels({ image: { dim: 1, of: () => [1] }, text: { dim: 1, of: () => [1] } });
    const config = {
      models: {} as CompetitionConfig['models'],
      search: 'ensemble',
      ensemble: { models: { image: 1, text: 1 }, pca: null },
      tune: { 'ensemble.text': [0, 0.5, 2], 'min2.threshold': [0.5] },
    };
    const tried: string[] = [];
    const embedder = await searchedEmbedder(config, [], models, {
      score: (candidate) => {
        tried.push(candidate.description);
        return Promise.resolve(-Math.abs(candidate.tuned['ensemble.text']! - 0.5));
      },
      higherIsBetter: true,
    });
    expect(tried).toEqual([
      'ensemble of image ×1, text ×0',
      'ensemble of image ×1, text ×0.5',
      'ensemble of image ×1, text ×2',
    ]);
    expect(embedder.tuned).toEqual({ 'ensemble.image': 1, 'ensemble.text': 0.5 });
  });

  describe('config', () => {
    const model = (embeddingSize: number) => ({ embeddingSize }) as CompetitionConfig['models'][string];
    const base = {
      models: { image: model(64), text: model(32) },
      search: 'ensemble',
      ensemble: { models: { image: 1, text: 1 }, pca: null },
      tune: {},
    } as unknown as CompetitionConfig;
    const refusal = (change: object) => {
      try {
        checkEnsemble({ ...base, ...change }, 'my.yaml');
        return 'accepted';
      } catch (error) {
        return (error as Error).message;
      }
    };

    it('accepts an ensemble searched with search: ensemble', () => {
      expect(refusal({})).toBe('accepted');
      expect(refusal({ ensemble: { models: { image: 1, text: 0 }, pca: { dimension: 96, whiten: true } } })).toBe(
        'accepted',
      );
    });

    it.each([
      [{ search: 'image' }, /\(search\): the ensemble is searched only with search: ensemble, got "image"/],
      [{ ensemble: null }, /search: ensemble needs an ensemble/],
      [{ ensemble: null, search: 'image', tune: { 'ensemble.text': [1] } }, /has no ensemble/],
      [
        { ensemble: { models: { image: 1, photo: 1 }, pca: null } },
        /ensemble\.models\.photo.*expected one of the models \(image, text\)/,
      ],
      [{ ensemble: { models: { image: -1 }, pca: null } }, /expected a weight ≥ 0, got -1/],
      [{ ensemble: { models: { image: 0, text: 0 }, pca: null } }, /at least one weight above 0/],
      [
        { ensemble: { models: { image: 1 }, pca: { dimension: 65, whiten: false } } },
        /\(ensemble\.pca\.dimension\): expected a whole number from 1 to 64 .*got 65/,
      ],
      [{ tune: { 'ensemble.photo': [1] } }, /tune\.ensemble\.photo.*names no model of the ensemble/],
    ])('refuses %j, naming the key', (change, message) => {
      const text = refusal(change);
      expect(text).toMatch(/my\.yaml/);
      expect(text).toMatch(message);
    });
  });

  it(
    'an image + text ensemble, PCA-whitened, weights tuned, runs end to end on the Shopee sample and is reported',
    { timeout: 600_000 },
    async () => {
      await initEngine('native');
      const app = await Simkit.create();
      const { image, text } = SHOPEE_CONFIG.models;
      const out = mkdtempSync(join(tmpdir(), 'simkit-ensemble-'));
      const summary = await runCompetition(app, {
        competition: 'shopee',
        out,
        leaderboard: join(out, 'leaderboard.sqlite'),
        overrides: {
          models: {
            image: { ...image!, input: 'image', imageSize: 32, epochs: 1 },
            text: { ...text!, epochs: 1 },
          },
          search: 'ensemble',
          ensemble: { models: { image: 1, text: 1 }, pca: { dimension: 16, whiten: true } },
          postProcessors: [
            { name: 'min2', options: { threshold: 0.6, floor: 0.3 } },
            { name: 'combined', options: { models: ['image', 'text'], threshold: 0.7, neighbours: 50 } },
          ],
          tune: { 'ensemble.text': [0.5, 1], 'min2.threshold': [0.7, 1.01] },
        },
      });
      expect(summary.searched).toMatch(/^ensemble of image ×1, text ×(0\.5|1) \(PCA-whitened to 16\)$/);
      expect(Object.keys(summary.tuned)).toEqual(
        expect.arrayContaining(['ensemble.image', 'ensemble.text', 'min2.threshold']),
      );
      expect(summary.validation!).toBeGreaterThan(summary.baselines['self only']!);
      expect(summary.test?.score).toEqual(expect.any(Number));
      const used = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as CompetitionConfig & {
        tuned: Record<string, number>;
      };
      expect(used.ensemble).toEqual({ models: { image: 1, text: 1 }, pca: { dimension: 16, whiten: true } });
      expect(used.tuned['ensemble.text']).toBe(summary.tuned['ensemble.text']);
      const report = JSON.parse(readFileSync(join(summary.runDir, 'report.json'), 'utf8')) as {
        summary: Record<string, unknown>;
      };
      expect(report.summary.searched).toBe(summary.searched);
    },
  );
});
