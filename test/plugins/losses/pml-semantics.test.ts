import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddingLoss, LossFactory } from '../../../core/contracts/loss.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import {
  cosine,
  dot,
  l2,
  logOnePlusSumExp,
  logSumExp,
  mean,
  negativesOf,
  positivesOf,
  randomBatch,
  range,
  relu,
  softplus,
  sum,
  unit,
  type Matrix,
} from './float64.js';
import {
  expectGradient,
  expectLargeBatch,
  expectNoLeakOver100Steps,
  expectRelativelyClose,
  expectUnknownOptionRefused,
  lossValue,
  type LossCase,
} from './loss-checks.js';
import { expectNoLeak } from './helpers.js';

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

  // Class 4 has one member: its row has negatives but no positives.
  const SINGLETON = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4];

  it('multi-similarity rows all with its miner: every row is a term, one the miner left without pairs adds 0 (PML)', () => {
    const [alpha, beta, base, epsilon] = [2, 50, 0.5, 0.1];
    const s = (i: number, j: number) => cosine(X[i]!, X[j]!);
    // PML MultiSimilarityMiner: positives with s_ap − ε < the largest negative s, negatives with s_an + ε > the least
    // positive s (an anchor without positives keeps no negatives, and the other way round).
    const mined = range(12).map((i) => {
      const [positives, negatives] = [positivesOf(SINGLETON, i), negativesOf(SINGLETON, i)];
      if (positives.length === 0 || negatives.length === 0) return { positives: [], negatives: [] };
      const hardestNegative = Math.max(...negatives.map((n) => s(i, n)));
      const hardestPositive = Math.min(...positives.map((p) => s(i, p)));
      return {
        positives: positives.filter((p) => s(i, p) - epsilon < hardestNegative),
        negatives: negatives.filter((n) => s(i, n) + epsilon > hardestPositive),
      };
    });
    const terms = mined.map(
      ({ positives, negatives }, i) =>
        logOnePlusSumExp(positives.map((p) => -alpha * (s(i, p) - base))) / alpha +
        logOnePlusSumExp(negatives.map((n) => beta * (s(i, n) - base))) / beta,
    );
    const withPairs = mined.filter(({ positives, negatives }) => positives.length + negatives.length > 0).length;
    expect(withPairs).toBeLessThan(12);
    const lossCase = { name: 'multi-similarity', miner: 'multi-similarity', numClasses: 5 };
    expectRelativelyClose(
      lossValue(app, { ...lossCase, options: { rows: 'all' } }, X, SINGLETON),
      sum(terms) / 12,
      'all',
    );
    expectRelativelyClose(lossValue(app, lossCase, X, SINGLETON), sum(terms) / withPairs, 'with-pairs (default)');
    expect(() => lossValue(app, { ...lossCase, options: { rows: 'every' } }, X, SINGLETON)).toThrow(/unknown rows/);
  });

  it('generalized lifted structure rows all: mean over every row of [lse_P + lse_N]₊, an empty sum as 0 (PML)', () => {
    const term = (i: number) => {
      const [positives, negatives] = [positivesOf(SINGLETON, i), negativesOf(SINGLETON, i)];
      const part = (values: number[]) => (values.length ? logSumExp(values) : 0);
      return relu(part(positives.map((p) => d(i, p) - 0.1)) + part(negatives.map((n) => 1.2 - d(i, n))));
    };
    const lossCase = {
      name: 'generalized-lifted-structure',
      options: { positiveMargin: 0.1, negativeMargin: 1.2 },
      numClasses: 5,
    };
    const all = mean(range(12).map(term));
    expectRelativelyClose(
      lossValue(app, { ...lossCase, options: { ...lossCase.options, rows: 'all' } }, X, SINGLETON),
      all,
      'all',
    );
    const withBoth = mean(range(11).map(term));
    expectRelativelyClose(lossValue(app, lossCase, X, SINGLETON), withBoth, 'with-pairs (default)');
    expect(Math.abs(all - withBoth)).toBeGreaterThan(1e-3);
  });

  it("angular normalizeNegatives false: the negatives' raw rows, anchors and positives unit (PML AngularLoss)", () => {
    const t = Math.tan((40 * Math.PI) / 180) ** 2;
    const pairs = range(12).flatMap((a) => positivesOf(LABELS, a).map((p) => [a, p] as const));
    const reference = (negativeRow: (n: number) => number[]) =>
      mean(
        pairs.map(([a, p]) => {
          const [ua, up] = [unit(X[a]!), unit(X[p]!)];
          const towards = ua.map((v, k) => v + up[k]!);
          return logOnePlusSumExp(
            negativesOf(LABELS, a).map((n) => 4 * t * dot(towards, negativeRow(n)) - 2 * (1 + t) * dot(ua, up)),
          );
        }),
      );
    expectRelativelyClose(
      lossValue(app, { name: 'angular', options: { normalizeNegatives: false }, numClasses: 4 }, X, LABELS),
      reference((n) => X[n]!),
      'raw negatives',
    );
    expectRelativelyClose(
      lossValue(app, { name: 'angular', numClasses: 4 }, X, LABELS),
      reference((n) => unit(X[n]!)),
      'unit negatives (default)',
    );
    expect(Math.abs(reference((n) => X[n]!) - reference((n) => unit(X[n]!)))).toBeGreaterThan(1e-2);
  });

  it('cross-batch memory anchors batch: anchors from the batch, the memory (batch included, self left out) as references (PML)', () => {
    const xbm = (loss: object) =>
      app.registry<LossFactory>('Loss').create('cross-batch-memory', { loss, memorySize: 6, anchors: 'batch' })({
        embeddingDim: 5,
        numClasses: 4,
        lossNamed: (name, options) => app.registry<LossFactory>('Loss').create(name, options),
      }) as EmbeddingLoss;
    const batches = [
      { rows: [0, 1, 2, 3], labels: [0, 0, 1, 1] },
      { rows: [4, 5, 6, 7], labels: [1, 2, 2, 0] },
      { rows: [8, 9, 10, 11], labels: [3, 3, 0, 2] },
    ];
    // PML: the batch is queued first (newest first here, size 6), then each batch row i pairs with every queued row
    // but its own copy.
    let queue: { row: number; label: number }[] = [];
    const steps = batches.map(({ rows, labels }) => {
      queue = [...rows.map((row, i) => ({ row, label: labels[i]! })), ...queue].slice(0, 6);
      return rows.map((row, i) => ({
        row,
        label: labels[i]!,
        references: queue.filter((_, j) => j !== i),
      }));
    });
    const contrastive64 = (anchors: (typeof steps)[number]) => {
      const pairs = anchors.flatMap((a) =>
        a.references.map((r) => ({ same: r.label === a.label, d: d(a.row, r.row) })),
      );
      const positive = pairs.filter((p) => p.same).map((p) => p.d);
      const negative = pairs.filter((p) => !p.same).map((p) => relu(1.2 - p.d));
      return mean(positive.filter((v) => v > 1e-12)) + mean(negative.filter((v) => v > 1e-12));
    };
    const multiSimilarity64 = (anchors: (typeof steps)[number]) =>
      mean(
        anchors.map((a) => {
          const s = (r: { row: number }) => cosine(X[a.row]!, X[r.row]!) - 0.5;
          return (
            logOnePlusSumExp(a.references.filter((r) => r.label === a.label).map((r) => -2 * s(r))) / 2 +
            logOnePlusSumExp(a.references.filter((r) => r.label !== a.label).map((r) => 10 * s(r))) / 10
          );
        }),
      );
    for (const [loss, reference] of [
      [{ name: 'contrastive', options: { negativeMargin: 1.2 } }, contrastive64],
      [{ name: 'multi-similarity', options: { beta: 10, rows: 'all' } }, multiSimilarity64],
    ] as const) {
      const memory = xbm(loss);
      batches.forEach(({ rows, labels }, step) =>
        expectRelativelyClose(
          tf.tidy(() => memory.compute(tf.tensor2d(rows.map((r) => X[r]!)), tf.tensor1d(labels, 'int32')).arraySync()),
          reference(steps[step]!),
          `${loss.name}, step ${step}`,
        ),
      );
      memory.dispose();
    }
    const leakCheck = xbm({ name: 'contrastive' });
    const [rows, labels] = [tf.variable(tf.tensor2d(X.slice(0, 4))), tf.tensor1d([0, 0, 1, 1], 'int32')];
    expectNoLeak(
      () =>
        tf.tidy(() => {
          tf.variableGrads(() => leakCheck.compute(rows, labels), [rows]);
        }),
      'xbm anchors batch',
    );
    tf.dispose([rows, labels]);
    leakCheck.dispose();
    expect(() => xbm({ name: 'triplet' })).toThrow(/not a loss over pairs/);
    const small = xbm({ name: 'contrastive' });
    expect(() => small.compute(tf.tensor2d(X.slice(0, 8)), tf.tensor1d(range(8), 'int32'))).toThrow(
      /exceeds memorySize/,
    );
    small.dispose();
  });

  const cases: LossCase[] = [
    { name: 'triplet', options: { margin: 0.6, distance: 'l2', reducer: 'mean', chunkEntries: 300 }, numClasses: 4 },
    { name: 'triplet', options: { margin: 0.2, distance: 'l2', smoothLoss: true }, numClasses: 4 },
    { name: 'margin', options: { form: 'triplets', alpha: 0.3, initialBeta: 1.2, chunkEntries: 300 }, numClasses: 4 },
    { name: 'angular', options: { normalizeNegatives: false }, numClasses: 4 },
    { name: 'generalized-lifted-structure', options: { rows: 'all' }, numClasses: 4 },
    { name: 'multi-similarity', options: { rows: 'all', beta: 5 }, numClasses: 4 },
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
        expectLargeBatch(
          app,
          'chunkEntries' in lossCase.options!
            ? { ...lossCase, options: { ...lossCase.options, chunkEntries: 2 ** 20 } }
            : lossCase,
        );
    } finally {
      await initEngine('cpu');
    }
  }, 120_000);
});
