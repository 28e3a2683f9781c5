import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { lossParts } from '../../../core/losses/embedding-loss.js';
import { jaccard, multiSupConLoss, MULTI_SUPCON_DEFAULTS } from '../../../plugins/losses/multi-supcon.js';
import { cosine, logSumExp, meanNonZero, randomBatch, range, sum } from './float64.js';
import {
  expectFiniteOnDegenerateBatches,
  expectGradient,
  expectLargeBatch,
  expectNoLeakOver100Steps,
  expectRelativelyClose,
  expectUnknownOptionRefused,
  lossValue,
} from './loss-checks.js';

const X = randomBatch(8, 4, 11);
// Label sets over 5 labels; row 7 shares nothing with anyone.
const SETS = [
  [1, 1, 0, 0, 0],
  [1, 0, 0, 0, 0],
  [1, 1, 1, 0, 0],
  [0, 0, 1, 1, 0],
  [0, 0, 1, 1, 0],
  [0, 1, 0, 1, 0],
  [0, 0, 0, 1, 0],
  [0, 0, 0, 0, 1],
];

const jaccard64 = (a: number[], b: number[]) => {
  const intersection = sum(a.map((x, k) => x * b[k]!));
  const union = sum(a) + sum(b) - intersection;
  return union === 0 ? 0 : intersection / union;
};

/** PML 3 MultiSupConLoss, written from its definition: Jaccard-weighted SupCon, mean over the non-zero rows. */
function multiSupCon64(sets: number[][], temperature: number, threshold: number): number {
  const n = sets.length;
  const s = (i: number, j: number) => cosine(X[i]!, X[j]!) / temperature;
  const positives = (i: number) => range(n).filter((j) => j !== i && jaccard64(sets[i]!, sets[j]!) > threshold);
  const others = (i: number) => range(n).filter((j) => j !== i);
  const anyPositive = range(n).some((i) => positives(i).length > 0);
  const anyNegative = range(n).some((i) => others(i).length > positives(i).length);
  if (!anyPositive || !anyNegative) return 0;
  const terms = range(n).map((i) => {
    const p = positives(i);
    if (p.length === 0) return 0;
    const denominator = logSumExp(others(i).map((a) => s(i, a)));
    return -sum(p.map((j) => jaccard64(sets[i]!, sets[j]!) * (s(i, j) - denominator))) / p.length;
  });
  return meanNonZero(terms);
}

let app: Simkit;

describe('multi-supcon (PML 3 MultiSupConLoss)', () => {
  beforeAll(async () => {
    await initEngine('cpu');
    app = await Simkit.create();
  });

  it('label sets: Jaccard-weighted positives above the threshold, against float64', () => {
    const expectedJaccard = SETS.map((a) => SETS.map((b) => jaccard64(a, b)));
    const measured = tf.tidy(() => jaccard(tf.tensor2d(SETS)).arraySync());
    measured.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expectedJaccard[i]![j]!, 6)));
    for (const [temperature, threshold] of [
      [0.1, 0.3],
      [0.5, 0.45],
      [0.2, 0],
    ] as const) {
      const options = { ...MULTI_SUPCON_DEFAULTS, temperature, threshold };
      const parts = lossParts('multi-supcon', options, app.components);
      const value = tf.tidy(() =>
        multiSupConLoss(parts, options, undefined, tf.tensor2d(X), jaccard(tf.tensor2d(SETS))).arraySync(),
      );
      expectRelativelyClose(value, multiSupCon64(SETS, temperature, threshold), `τ ${temperature}, t ${threshold}`);
    }
  });

  it('one class per row (what the training loop gives): the same number as supcon, and 0 without negatives', () => {
    const labels = [0, 0, 0, 1, 1, 2, 2, 3];
    const oneHot = labels.map((l) => range(4).map((c) => (c === l ? 1 : 0)));
    const expected = multiSupCon64(oneHot, 0.1, 0.3);
    expectRelativelyClose(lossValue(app, { name: 'multi-supcon', numClasses: 4 }, X, labels), expected, 'multi-supcon');
    expectRelativelyClose(lossValue(app, { name: 'supcon', numClasses: 4 }, X, labels), expected, 'supcon');
    expect(
      lossValue(
        app,
        { name: 'multi-supcon', numClasses: 1 },
        X,
        labels.map(() => 0),
      ),
    ).toBe(0);
  });

  it('gradient, no leak, degenerate batches, B = 512, unknown option', () => {
    const lossCase = { name: 'multi-supcon', numClasses: 4, options: { temperature: 0.5 } };
    const labels = [0, 0, 0, 1, 1, 2, 2, 3];
    expectGradient(app, lossCase, X, labels);
    expectNoLeakOver100Steps(app, lossCase, X, labels);
    expectFiniteOnDegenerateBatches(app, lossCase);
    expectLargeBatch(app, { name: 'multi-supcon', numClasses: 64 });
    expectUnknownOptionRefused(app, lossCase);
  });
});
