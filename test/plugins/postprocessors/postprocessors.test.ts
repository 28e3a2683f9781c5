import { describe, expect, it } from 'vitest';
import type { KnnState } from '../../../core/contracts/postprocessor.js';
import { create } from './helpers.js';
import { exactSearchContext } from '../../../core/search/neighbours.js';
import { taskStrategy } from '../../core/tasks/task-strategy.js';
import { queryExpansion } from '../../../plugins/postprocessors/blend.js';
import { knnVote } from '../../../plugins/postprocessors/knn-vote.js';
import { labelThreshold } from '../../../plugins/postprocessors/label-threshold.js';
import { min2 } from '../../../plugins/postprocessors/min2.js';
import { nonTargetPenalty } from '../../../plugins/postprocessors/non-target.js';
import { reciprocal } from '../../../plugins/postprocessors/reciprocal.js';
import { threshold } from '../../../plugins/postprocessors/threshold.js';
import { unknownLabel } from '../../../plugins/postprocessors/unknown-label.js';

// Three items matched among themselves (queries = gallery): a's neighbours a, b, c; b's b, a; c's c, a.
const matchState: KnnState = {
  dim: 2,
  queryIds: ['a', 'b', 'c'],
  queryVectors: new Float32Array([1, 0, 0.8, 0.6, 0, 1]),
  galleryIds: ['a', 'b', 'c'],
  galleryVectors: new Float32Array([1, 0, 0.8, 0.6, 0, 1]),
  neighbours: [
    { indices: [0, 1, 2], similarities: [1, 0.8, 0] },
    { indices: [1, 0, 2], similarities: [1, 0.8, 0.6] },
    { indices: [2, 1, 0], similarities: [1, 0.6, 0] },
  ],
};
const context = exactSearchContext(2);

describe('post-processors (hand-worked examples)', () => {
  it('threshold keeps neighbours at or above it; the match task always includes the item itself', () => {
    const out = create(threshold, { threshold: 0.7 }).apply(matchState, context);
    expect(
      taskStrategy('match')
        .predictions(out)
        .map((p) => p.labels),
    ).toEqual([['a', 'b'], ['b', 'a'], ['c']]);
  });

  it('min2 keeps the best non-self neighbour above the floor even below the threshold', () => {
    const out = create(min2, { threshold: 0.9, floor: 0.5 }).apply(matchState, context);
    // a: best other b (0.8 ≥ 0.5); b: a (0.8); c: b (0.6 ≥ 0.5).
    expect(
      taskStrategy('match')
        .predictions(out)
        .map((p) => p.labels),
    ).toEqual([
      ['a', 'b'],
      ['b', 'a'],
      ['c', 'b'],
    ]);
    const strict = create(min2, { threshold: 0.9, floor: 0.7 }).apply(matchState, context);
    expect(
      taskStrategy('match')
        .predictions(strict)
        .map((p) => p.labels)[2],
    ).toEqual(['c']);
  });

  it('kNN voting sums similarity^p per label over the top k, divided by k', () => {
    const state: KnnState = {
      ...matchState,
      queryIds: ['q'],
      galleryLabels: ['x', 'y', 'x'],
      neighbours: [{ indices: [0, 1, 2], similarities: [0.9, 0.8, 0.5] }],
    };
    const out = create(knnVote, { k: 3, power: 2 }).apply(state, context);
    // x: (0.81 + 0.25) / 3 = 0.35333; y: 0.64 / 3 = 0.21333.
    expect(out.predictions![0]!.labels).toEqual(['x', 'y']);
    expect(out.predictions![0]!.scores[0]).toBeCloseTo(1.06 / 3, 10);
    expect(out.predictions![0]!.scores[1]).toBeCloseTo(0.64 / 3, 10);
    const top1 = create(knnVote, { k: 2, power: 1 }).apply(state, context);
    expect(top1.predictions![0]!.scores).toEqual([0.9 / 2, 0.8 / 2]);
  });

  it('the unknown label goes where scores drop below the threshold; label-threshold keeps labels near the best', () => {
    const ranked: KnnState = {
      ...matchState,
      predictions: [
        { labels: ['w1', 'w2', 'w3'], scores: [0.9, 0.4, 0.1] },
        { labels: ['w4'], scores: [0.2] },
      ],
    };
    const withUnknown = create(unknownLabel, { label: 'new_whale', threshold: 0.5 }).apply(ranked, context);
    expect(withUnknown.predictions!.map((p) => p.labels)).toEqual([
      ['w1', 'new_whale', 'w2', 'w3'],
      ['new_whale', 'w4'],
    ]);
    const multi = create(labelThreshold, { threshold: 0.4 }).apply(ranked, context);
    expect(multi.predictions!.map((p) => p.labels)).toEqual([['w1', 'w2'], ['w4']]);
  });

  it('query expansion re-queries with the normalised similarity^α-weighted sum of the query and its neighbours', () => {
    const state: KnnState = {
      dim: 2,
      queryIds: ['q'],
      queryVectors: new Float32Array([1, 0]),
      galleryIds: ['g0', 'g1', 'g2'],
      galleryVectors: new Float32Array([0.8, 0.6, 0, 1, -1, 0]),
      neighbours: [{ indices: [0, 1, 2], similarities: [0.8, 0, -1] }],
    };
    const out = create(queryExpansion, { neighbours: 1, power: 1, minSimilarity: 0, k: 3 }).apply(state, context);
    // q' = normalise([1,0] + 0.8·[0.8,0.6]) = normalise([1.64, 0.48]).
    const norm = Math.hypot(1.64, 0.48);
    expect(out.queryVectors[0]).toBeCloseTo(1.64 / norm, 5);
    expect(out.queryVectors[1]).toBeCloseTo(0.48 / norm, 5);
    expect(out.neighbours[0]!.indices).toEqual([0, 1, 2]);
    expect(out.neighbours[0]!.similarities[0]).toBeCloseTo((1.64 * 0.8 + 0.48 * 0.6) / norm, 5);
  });

  it('reciprocal matching adds B→A for every A→B', () => {
    const thresholded = create(threshold, { threshold: 0.7 }).apply(matchState, context);
    const oneWay: KnnState = {
      ...thresholded,
      neighbours: [
        { indices: [0, 2], similarities: [1, 0.75] },
        { indices: [1], similarities: [1] },
        { indices: [2], similarities: [1] },
      ],
    };
    const out = create(reciprocal).apply(oneWay, context);
    expect(
      taskStrategy('match')
        .predictions(out)
        .map((p) => p.labels),
    ).toEqual([['a', 'c'], ['b'], ['c', 'a']]);
    expect(out.neighbours[2]!.similarities).toEqual([1, 0.75]);
  });

  it('the non-target penalty subtracts the mean similarity to the nearest distractors', () => {
    const state: KnnState = {
      ...matchState,
      queryIds: ['q'],
      queryVectors: new Float32Array([1, 0]),
      predictions: [{ labels: ['x'], scores: [0.9] }],
      distractorVectors: new Float32Array([0.6, 0.8, 0, 1, -1, 0]),
    };
    const out = create(nonTargetPenalty, { k: 2, weight: 0.5 }).apply(state, context);
    // Nearest two distractors: 0.6 and 0 → mean 0.3, × 0.5 = 0.15.
    expect(out.predictions![0]!.scores[0]).toBeCloseTo(0.75, 6);
    expect(create(nonTargetPenalty).apply({ ...state, distractorVectors: undefined }, context)).toEqual({
      ...state,
      distractorVectors: undefined,
    });
  });
});
