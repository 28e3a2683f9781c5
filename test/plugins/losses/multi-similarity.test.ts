import { beforeAll, describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { cosine, l2, logOnePlusSumExp, mean, negativesOf, positivesOf, randomBatch, range } from './float64.js';
import {
  expectGradient,
  expectLargeBatch,
  expectNoLeakOver100Steps,
  expectUnknownOptionRefused,
  lossValue,
} from './loss-checks.js';

// Eight raw rows; class 3 has a single sample (an anchor without positives).
const X = randomBatch(8, 4, 15);
const LABELS = [0, 0, 0, 1, 1, 2, 2, 3];

/** PML's documented equation, per anchor, averaged over the anchors that have a pair; `closeness` holds the base λ. */
function multiSimilarity64(alpha: number, beta: number, closeness: (i: number, j: number) => number): number {
  const terms = range(X.length)
    .filter((i) => positivesOf(LABELS, i).length + negativesOf(LABELS, i).length > 0)
    .map(
      (i) =>
        logOnePlusSumExp(positivesOf(LABELS, i).map((p) => -alpha * closeness(i, p))) / alpha +
        logOnePlusSumExp(negativesOf(LABELS, i).map((n) => beta * closeness(i, n))) / beta,
    );
  return mean(terms);
}

let app: Simkit;

describe('multi-similarity loss', () => {
  beforeAll(async () => {
    await initEngine('cpu');
    app = await Simkit.create();
  });

  it('matches the float64 equation with cosine similarity (S − λ) and with an L2 distance (λ − D)', () => {
    const name = 'multi-similarity';
    expect(lossValue(app, { name, numClasses: 4 }, X, LABELS)).toBeCloseTo(
      multiSimilarity64(2, 50, (i, j) => cosine(X[i]!, X[j]!) - 0.5),
      4,
    );
    expect(lossValue(app, { name, numClasses: 4, options: { alpha: 3, beta: 10, base: 1 } }, X, LABELS)).toBeCloseTo(
      multiSimilarity64(3, 10, (i, j) => cosine(X[i]!, X[j]!) - 1),
      4,
    );
    expect(lossValue(app, { name, numClasses: 4, options: { distance: 'l2', base: 1.1 } }, X, LABELS)).toBeCloseTo(
      multiSimilarity64(2, 50, (i, j) => 1.1 - l2(X[i]!, X[j]!)),
      4,
    );
  });

  it('gradient, no leak, B = 512, unknown option', () => {
    const lossCase = { name: 'multi-similarity', numClasses: 4, options: { beta: 5 } };
    expectGradient(app, lossCase, X, LABELS);
    expectNoLeakOver100Steps(app, lossCase, X, LABELS);
    expectLargeBatch(app, { name: 'multi-similarity', numClasses: 64 });
    expectUnknownOptionRefused(app, lossCase);
  });
});
