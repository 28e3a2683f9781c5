import { describe, expect, it } from 'vitest';
import type { Prediction } from '../../../core/contracts/competition.js';
import type { KnnState } from '../../../core/contracts/postprocessor.js';
import { meanAveragePrecisionMetric } from '../../../core/metrics/average-precision.js';
import { fillRow, filledToCount } from '../../../core/tasks/fill.js';
import { taskStrategy } from './task-strategy.js';

/** AP@5 as Kaggle's apk computes it, written out in float64 independently of core/metrics. */
function apAt5(truth: string, predicted: readonly string[]): number {
  let score = 0;
  let hits = 0;
  for (let i = 0; i < Math.min(predicted.length, 5); i++) {
    if (predicted[i] === truth && !predicted.slice(0, i).includes(predicted[i]!)) {
      hits += 1;
      score += hits / (i + 1);
    }
  }
  return score;
}

// Gallery: class a ×3, b ×2, c, d, e ×1; the neighbours of each query, best first.
const GALLERY_LABELS = ['a', 'a', 'a', 'b', 'b', 'c', 'd', 'e'];
const state = (predictions: string[][], neighbours: number[][]): KnnState => ({
  dim: 1,
  queryIds: predictions.map((_, q) => `q${q}`),
  queryVectors: new Float32Array(predictions.length),
  galleryIds: GALLERY_LABELS.map((_, g) => `g${g}`),
  galleryVectors: new Float32Array(GALLERY_LABELS.length),
  galleryLabels: GALLERY_LABELS,
  neighbours: neighbours.map((indices) => ({ indices, similarities: indices.map(() => 0.5) })),
  predictions: predictions.map((labels) => ({ labels, scores: labels.map(() => 1) })),
});

describe('filling ranked rows up to the counted answers', () => {
  it('fillRow: appends unseen candidates with score 0 and stops at the count', () => {
    const row: Prediction = { id: 'q', labels: ['x'], scores: [0.9] };
    expect(fillRow(row, 3, ['x', '', 'y', 'y', 'z', 'w'])).toEqual({
      id: 'q',
      labels: ['x', 'y', 'z'],
      scores: [0.9, 0, 0],
    });
    expect(fillRow(row, 1, ['y'])).toBe(row);
    expect(fillRow({ id: 'q', labels: [] }, 2, ['y'])).toEqual({ id: 'q', labels: ['y'] });
  });

  it('classify: the voted labels, then further neighbours in rank order, then the most frequent classes', () => {
    const strategy = filledToCount(taskStrategy('classify'), 5);
    // Voting saw only the first neighbour (d); the row's later neighbours are e, b, e.
    const [row] = strategy.predictions(state([['d', 'new']], [[6, 7, 3, 7]]));
    expect(row!.labels).toEqual(['d', 'new', 'e', 'b', 'a']);
    expect(row!.scores).toEqual([1, 1, 0, 0, 0]);
  });

  it('never lowers MAP@5 and raises it where the truth was among the filled guesses (checked against apk)', () => {
    const truths = ['b', 'a', 'e', 'c'];
    const s = state(
      [['d'], ['c', 'b'], ['e'], ['a']],
      [
        [6, 3],
        [5, 3, 0],
        [7, 0],
        [0, 1],
      ],
    );
    const plain = taskStrategy('classify').predictions(s);
    const filled = filledToCount(taskStrategy('classify'), 5).predictions(s);
    const mean = (rows: Prediction[]) =>
      rows.reduce((sum, row, q) => sum + apAt5(truths[q]!, row.labels), 0) / rows.length;
    expect(filled.every((row) => row.labels.length === 5)).toBe(true);
    expect(mean(plain)).toBeCloseTo((0 + 0 + 1 + 0) / 4, 12);
    // b at rank 2 of row 0 (a further neighbour), a at rank 3 of row 1 (another neighbour), c at rank 3 of row 3
    // (the most frequent classes after a).
    expect(filled.map((row) => row.labels)).toEqual([
      ['d', 'b', 'a', 'c', 'e'],
      ['c', 'b', 'a', 'd', 'e'],
      ['e', 'a', 'b', 'c', 'd'],
      ['a', 'b', 'c', 'd', 'e'],
    ]);
    expect(mean(filled)).toBeCloseTo((1 / 2 + 1 / 3 + 1 + 1 / 3) / 4, 12);
    const metric = meanAveragePrecisionMetric({ name: 'MAP@5', k: 5, overflow: 'ignore', emptyTruth: 'invalid' });
    const accumulator = metric.createAccumulator();
    filled.forEach((row, q) => accumulator.add(row.id, new Set([truths[q]!]), [...row.labels]));
    expect(accumulator.result()).toBeCloseTo(mean(filled), 12);
    expect(mean(filled)).toBeGreaterThan(mean(plain));
  });

  it('retrieve: further neighbours, then the rest of the searched set; set and confidence tasks are unchanged', () => {
    const s = state([[]], [[2, 4]]);
    const [row] = filledToCount(taskStrategy('retrieve'), 4).predictions(s);
    expect(row!.labels).toEqual(['g2', 'g4', 'g0', 'g1']);
    for (const kind of ['match', 'recognize', 'multilabel'] as const)
      expect(filledToCount(taskStrategy(kind), 5)).toBe(taskStrategy(kind));
    expect(filledToCount(taskStrategy('classify'), undefined)).toBe(taskStrategy('classify'));
  });
});
