import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Item } from '../../../core/contracts/competition.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { formatSummary } from '../../../core/cli/commands/run.js';
import { OUT_OF_FOLD_FILE, averageNormalised } from '../../../core/pipeline/cross-validate.js';
import { runCompetition } from '../../../core/pipeline/run.js';
import { effectiveConfig, prepareRun } from '../../../core/pipeline/prepare.js';
import { PSEUDO_LABEL_DEFAULTS } from '../../../core/pipeline/config.js';
import { foldsFor } from '../../../core/pipeline/split.js';
import { Random } from '../../../core/random.js';

/** Items of classes with 1 to 7 members each. */
function items(classes: number): Item[] {
  const out: Item[] = [];
  for (let c = 0; c < classes; c++)
    for (let i = 0; i <= c % 7; i++) out.push({ id: `c${c}-${i}`, labels: [`c${c}`], extra: {} });
  return out;
}

function everyItemOnce(folds: readonly Item[][], all: readonly Item[]): void {
  const ids = folds.flat().map((item) => item.id);
  expect(ids.length).toBe(all.length);
  expect(new Set(ids)).toEqual(new Set(all.map((item) => item.id)));
}

describe('folds for cross-validation', () => {
  it('by label: every item in exactly one fold, no label in two folds, folds of similar size', () => {
    const all = items(40);
    const folds = foldsFor(all, 5, 'label', new Random(7));
    everyItemOnce(folds, all);
    const foldOfLabel = new Map<string, number>();
    folds.forEach((fold, f) =>
      fold.forEach((item) => {
        const label = item.labels[0]!;
        expect(foldOfLabel.get(label) ?? f).toBe(f);
        foldOfLabel.set(label, f);
      }),
    );
    const sizes = folds.map((fold) => fold.length);
    // Groups of at most 7 placed largest first in the smallest fold: sizes differ by at most the largest group.
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(7);
  });

  it('by item: every item in exactly one fold, and a class of two or more keeps a training item for every fold', () => {
    const all = items(30);
    const folds = foldsFor(all, 4, 'item', new Random(3));
    everyItemOnce(folds, all);
    for (const [f, held] of folds.entries()) {
      const trained = new Set(folds.flatMap((fold, other) => (other === f ? [] : fold)).map((item) => item.labels[0]));
      const sizes = new Map<string, number>();
      for (const item of all) sizes.set(item.labels[0]!, (sizes.get(item.labels[0]!) ?? 0) + 1);
      for (const item of held) if (sizes.get(item.labels[0]!)! >= 2) expect(trained.has(item.labels[0])).toBe(true);
    }
  });

  it('is the same for the same seed, and refuses fewer than two folds or more folds than labels', () => {
    const all = items(12);
    expect(foldsFor(all, 3, 'label', new Random(5))).toEqual(foldsFor(all, 3, 'label', new Random(5)));
    expect(() => foldsFor(all, 1, 'label', new Random(5))).toThrow(/expected 2 to 12 folds/);
    expect(() => foldsFor(all, 13, 'label', new Random(5))).toThrow(/expected 2 to 12 folds \(the labels/);
  });

  it('averages the folds’ normalised vectors and normalises the mean (float64 loop)', () => {
    const dim = 3;
    const a = Float32Array.from([1, 0, 0, 0.6, 0.8, 0]);
    const b = Float32Array.from([0, 1, 0, 0, 0.8, 0.6]);
    const got = averageNormalised([a, b], dim);
    for (let row = 0; row < 2; row++) {
      const mean = [0, 1, 2].map((j) => (a[row * dim + j]! + b[row * dim + j]!) / 2);
      const norm = Math.sqrt(mean.reduce((sum, v) => sum + v * v, 0));
      for (let j = 0; j < dim; j++) expect(got[row * dim + j]).toBeCloseTo(mean[j]! / norm, 6);
    }
  });
});

describe('--folds refused before any work', () => {
  it('names the unknown label, the clash with pseudo-labels, and a final that is neither folds nor full', async () => {
    const app = await Simkit.create();
    const out = mkdtempSync(join(tmpdir(), 'simkit-folds-refused-'));
    await expect(prepareRun(app, { competition: 'whales', out, folds: 2 })).rejects.toThrow(/unknown label/);
    await expect(
      prepareRun(app, {
        competition: 'hotels',
        out,
        folds: 2,
        overrides: { pseudoLabels: { ...PSEUDO_LABEL_DEFAULTS, enabled: true } },
      }),
    ).rejects.toThrow(/folds and pseudoLabels/);
    const config = join(out, 'folds.yaml');
    writeFileSync(config, 'folds: { count: 3, final: half }\n');
    await expect(effectiveConfig(app, { competition: 'hotels', config })).rejects.toThrow(
      /folds\.final.*expected folds or full/,
    );
    expect((await effectiveConfig(app, { competition: 'hotels', folds: 4 })).folds).toEqual({
      count: 4,
      final: 'folds',
    });
    expect(existsSync(join(out, 'sample'))).toBe(false);
  });
});

describe('simkit run --folds on the Hotel-ID sample (one epoch)', () => {
  let app: Simkit;
  beforeAll(async () => {
    await initEngine('native');
    app = await Simkit.create();
  });

  it.each(['folds', 'full'] as const)(
    'final: %s — out-of-fold predictions of every train item once, printed beside the single split',
    async (final) => {
      const out = mkdtempSync(join(tmpdir(), 'simkit-folds-'));
      const summary = await runCompetition(app, {
        competition: 'hotels',
        out,
        epochs: 1,
        folds: 2,
        overrides: { folds: { count: 2, final } },
        leaderboard: join(out, 'leaderboard.sqlite'),
      });
      const oof = summary.outOfFold!;
      expect(oof.folds).toBe(2);
      expect(oof.final).toBe(final);
      expect(oof.perFold).toHaveLength(2);
      expect(oof.score).toEqual(expect.any(Number));
      const train = readFileSync(join(out, 'sample', 'train.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1);
      const predicted = readFileSync(join(summary.runDir, OUT_OF_FOLD_FILE), 'utf8').trim().split('\n').slice(1);
      expect(oof.items).toBe(train.length);
      expect(predicted.map((row) => row.split(',')[0]).sort()).toEqual(train.map((row) => row.split(',')[0]).sort());
      expect(summary.tuned).toEqual(oof.tuned);
      expect(summary.test?.score).toEqual(expect.any(Number));
      expect(formatSummary(summary)).toMatch(/out of fold, all \d+ train items \(2 folds\)\s+\d\.\d{4}/);
    },
    600_000,
  );
});
