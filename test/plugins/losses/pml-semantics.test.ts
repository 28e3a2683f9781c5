import { beforeAll, describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { l2, mean, negativesOf, positivesOf, randomBatch, range, relu, softplus, sum, type Matrix } from './float64.js';
import {
  expectGradient,
  expectLargeBatch,
  expectNoLeakOver100Steps,
  expectRelativelyClose,
  expectUnknownOptionRefused,
  lossValue,
  type LossCase,
} from './loss-checks.js';

// Raw rows (the distance normalises them), 4 classes of 3, so every anchor has positives and negatives.
const X: Matrix = randomBatch(12, 5, 7);
const LABELS = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3];
const triplets = (labels: readonly number[]) =>
  range(labels.length).flatMap((i) =>
    positivesOf(labels, i).flatMap((j) => negativesOf(labels, i).map((k) => [i, j, k] as const)),
  );
const d = (i: number, j: number) => l2(X[i]!, X[j]!);

describe("pytorch-metric-learning 2.x semantics as options (float64 references written from PML's documented formulas)", () => {
  let app: Simkit;
  beforeAll(async () => {
    await initEngine('cpu');
    app = await Simkit.create();
  });

  it('triplet reducer: mean over all triplets, sum, per-anchor; mean-non-zero stays the default (chunked in 2 anchors)', () => {
    const m = 0.2;
    const terms = triplets(LABELS).map(([i, j, k]) => ({ i, v: relu(d(i, j) - d(i, k) + m) }));
    const perAnchor = mean(range(12).map((i) => mean(terms.filter((t) => t.i === i).map((t) => t.v))));
    const cases: [object, number][] = [
      [{}, mean(terms.map((t) => t.v).filter((v) => v > 1e-12))],
      [{ reducer: 'mean' }, mean(terms.map((t) => t.v))],
      [{ reducer: 'sum' }, sum(terms.map((t) => t.v))],
      [{ reducer: 'per-anchor' }, perAnchor],
    ];
    for (const [options, expected] of cases) {
      const lossCase = {
        name: 'triplet',
        options: { margin: m, distance: 'l2', chunkEntries: 2 * 12 * 12, ...options },
        numClasses: 4,
      };
      expectRelativelyClose(lossValue(app, lossCase, X, LABELS), expected, JSON.stringify(options));
    }
    expect(mean(terms.map((t) => t.v))).toBeLessThan(mean(terms.map((t) => t.v).filter((v) => v > 1e-12)));
  });

  it('triplet smoothLoss: softplus(d_ap − d_an + m) (PML smooth_loss=True), next to softMargin softplus(d_ap − d_an)', () => {
    const m = 0.3;
    const z = triplets(LABELS).map(([i, j, k]) => d(i, j) - d(i, k));
    expectRelativelyClose(
      lossValue(
        app,
        { name: 'triplet', options: { margin: m, distance: 'l2', smoothLoss: true }, numClasses: 4 },
        X,
        LABELS,
      ),
      mean(z.map((v) => softplus(v + m))),
      'smooth',
    );
    expectRelativelyClose(
      lossValue(
        app,
        { name: 'triplet', options: { margin: m, distance: 'l2', softMargin: true }, numClasses: 4 },
        X,
        LABELS,
      ),
      mean(z.map(softplus)),
      'soft',
    );
    expect(() =>
      lossValue(app, { name: 'triplet', options: { softMargin: true, smoothLoss: true }, numClasses: 4 }, X, LABELS),
    ).toThrow(/set one of them/);
  });

  it('margin loss, triplets form: Σ relu(d_ap − β + α) + relu(β − d_an + α) over triplets / number of non-zero terms (PML MarginLoss)', () => {
    const [alpha, beta] = [0.2, 1.2];
    const reference = (selected: (readonly [number, number, number])[]) => {
      const pos = selected.map(([i, j]) => relu(d(i, j) - beta + alpha));
      const neg = selected.map(([i, , k]) => relu(beta - d(i, k) + alpha));
      const active = [...pos, ...neg].filter((v) => v > 1e-12).length;
      return sum([...pos, ...neg]) / Math.max(active, 1);
    };
    const lossCase = {
      name: 'margin',
      options: { form: 'triplets', alpha, initialBeta: beta, chunkEntries: 3 * 144 },
      numClasses: 4,
    };
    expectRelativelyClose(lossValue(app, lossCase, X, LABELS), reference(triplets(LABELS)), 'all triplets');
    // With a triplet miner: semi-hard, d_ap < d_an < d_ap + α.
    const semiHard = triplets(LABELS).filter(([i, j, k]) => d(i, k) > d(i, j) && d(i, k) < d(i, j) + alpha);
    expect(semiHard.length).toBeGreaterThan(0);
    expectRelativelyClose(
      lossValue(app, { ...lossCase, miner: 'semi-hard' }, X, LABELS),
      reference(semiHard),
      'semi-hard',
    );
    expect(() =>
      lossValue(app, { name: 'margin', options: { form: 'quadruplets' }, numClasses: 4 }, X, LABELS),
    ).toThrow(/unknown form/);
    expect(() => lossValue(app, { name: 'margin', numClasses: 4, miner: 'semi-hard' }, X, LABELS)).toThrow(
      /takes no miner/,
    );
  });

  const cases: LossCase[] = [
    { name: 'triplet', options: { margin: 0.6, distance: 'l2', reducer: 'mean', chunkEntries: 300 }, numClasses: 4 },
    { name: 'triplet', options: { margin: 0.2, distance: 'l2', smoothLoss: true }, numClasses: 4 },
    { name: 'margin', options: { form: 'triplets', alpha: 0.3, initialBeta: 1.2, chunkEntries: 300 }, numClasses: 4 },
  ];
  it.each(cases.map((c) => [JSON.stringify(c.options), c] as const))(
    '%s: finite differences, no leak over 100 steps, unknown options refused',
    (_, lossCase) => {
      expectGradient(
        app,
        lossCase,
        X.slice(0, 6),
        LABELS.slice(0, 6).map((l) => l % 2),
        undefined,
        5e-2,
      );
      expectNoLeakOver100Steps(app, lossCase, X, LABELS);
      expectUnknownOptionRefused(app, lossCase);
    },
  );

  // B³ = 134 M triplets of arithmetic: on wasm (seconds), not the pure-JS backend (minutes).
  it('B = 512 forward and backward without B³ memory (wasm)', async () => {
    await initEngine('wasm');
    try {
      for (const lossCase of cases)
        expectLargeBatch(app, { ...lossCase, options: { ...lossCase.options, chunkEntries: 2 ** 20 } });
    } finally {
      await initEngine('cpu');
    }
  }, 120_000);
});
