import { describe, expect, it } from 'vitest';
import type { KnnState, RankedLabels } from '../../../core/contracts/postprocessor.js';
import { Simkit } from '../../../core/di/container.js';
import { create } from './helpers.js';
import { exactSearchContext } from '../../../core/search/neighbours.js';
import { fitChain, postProcess } from '../../../core/pipeline/knn.js';
import { taskStrategy } from '../../core/tasks/task-strategy.js';
import { labelThreshold } from '../../../plugins/postprocessors/label-threshold.js';

/**
 * Six validation rows over classes 0, 1, 2 (kNN-vote scores, best first). Class 1 appears with
 * low scores where it is true (0.4, 0.5 of the best); class 2 is a close second where it is false
 * (0.6, 0.7) and 0.9 where it is true: class 1 wants a low threshold, class 2 a high one.
 */
const rows: [truth: string[], ranked: RankedLabels][] = [
  [['0', '1'], { labels: ['0', '1'], scores: [1, 0.4] }],
  [['0', '1'], { labels: ['0', '1'], scores: [1, 0.5] }],
  [['0'], { labels: ['0', '2'], scores: [1, 0.6] }],
  [['0'], { labels: ['0', '2'], scores: [1, 0.7] }],
  [['0', '2'], { labels: ['0', '2'], scores: [1, 0.9] }],
  [['2'], { labels: ['2', '0'], scores: [1, 0.3] }],
];
const truth = rows.map(([labels]) => labels);
const state: KnnState = {
  dim: 1,
  queryIds: rows.map((_, q) => `q${q}`),
  queryVectors: new Float32Array(rows.length),
  galleryIds: [],
  galleryVectors: new Float32Array(0),
  neighbours: rows.map(() => ({ indices: [], similarities: [] })),
  predictions: rows.map(([, ranked]) => ranked),
};
const context = exactSearchContext(1);

function labelsOf(options: Parameters<typeof labelThreshold.create>[0]): string[][] {
  return taskStrategy('multilabel')
    .predictions(create(labelThreshold, options).apply(state, context))
    .map((p) => [...p.labels]);
}

/** Macro F1 over the three classes. */
function macroF1(predicted: readonly (readonly string[])[]): number {
  const f1 = (label: string): number => {
    let tp = 0;
    let count = 0;
    predicted.forEach((labels, q) => {
      if (labels.includes(label)) count++;
      if (labels.includes(label) && truth[q]!.includes(label)) tp++;
    });
    const positives = truth.filter((labels) => labels.includes(label)).length;
    return (2 * tp) / (count + positives);
  };
  return (f1('0') + f1('1') + f1('2')) / 3;
}

describe('label-threshold: per-class thresholds learned on validation', () => {
  it('learns a low threshold for class 1 and a high one for class 2, keeps the global one for class 0', () => {
    const learned = create(labelThreshold, { threshold: 0.5, minPositives: 2 }).fit!(state, truth);
    // Class 1: F1 1 once both 0.4 and 0.5 pass, midway between 0.4 and 0 → 0.2.
    // Class 2: F1 1 for thresholds in (0.7, 0.9], midway → 0.8. Class 0: the global 0.5 is already perfect.
    expect(learned).toEqual({ perClass: { '1': 0.2, '2': 0.8 } });
    expect(macroF1(labelsOf({ threshold: 0.5, ...learned }))).toBe(1);
  });

  it('beats every single threshold on these rows', () => {
    // One threshold for all: ≤ 0.4 lets in class 2's false 0.6 and 0.7; above 0.4 loses class 1's 0.4.
    const single = [0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 1].map(
      (threshold) => macroF1(labelsOf({ threshold })),
    );
    expect(Math.max(...single)).toBeCloseTo(8 / 9, 10);
    expect(macroF1(labelsOf({ threshold: 0.5 }))).toBeCloseTo(7 / 9, 10);
  });

  it('classes with fewer validation positives than minPositives keep the global threshold', () => {
    expect(create(labelThreshold, { threshold: 0.5, minPositives: 3 }).fit!(state, truth)).toEqual({ perClass: {} });
  });

  it('keeps the best label when no label passes its threshold (at least one per row)', () => {
    // Class 2 never passes on its own (1.5 × the best); row 5 still passes class 0 (0.3 ≥ 0.2 × 1),
    // rows 2-4 keep class 0; nothing else changes.
    expect(labelsOf({ threshold: 0.2, perClass: { '2': 1.5 } })).toEqual([
      ['0', '1'],
      ['0', '1'],
      ['0'],
      ['0'],
      ['0'],
      ['0'],
    ]);
    // With every threshold above 1 no label passes anywhere: each row keeps its best label only.
    expect(labelsOf({ threshold: 1.01 })).toEqual([['0'], ['0'], ['0'], ['0'], ['0'], ['2']]);
  });
});

describe('fitChain: what the test set runs with', () => {
  it('writes the tuned overrides and the learned per-class thresholds into the chain and lists the learned ones', async () => {
    const app = await Simkit.create();
    const chain = [{ name: 'label-threshold', options: { threshold: 0.7, minPositives: 2 } }];
    const fit = fitChain(app, chain, state, context, { 'label-threshold.threshold': 0.5 }, truth);
    expect(fit.fitted).toEqual({ 'label-threshold.perClass': { '1': 0.2, '2': 0.8 } });
    expect(fit.chain).toEqual([
      { name: 'label-threshold', options: { threshold: 0.5, minPositives: 2, perClass: { '1': 0.2, '2': 0.8 } } },
    ]);
    expect(macroF1(postProcess(app, taskStrategy('multilabel'), fit.chain, state, context).map((p) => p.labels))).toBe(
      1,
    );
  });
});
