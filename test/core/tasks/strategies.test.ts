import { describe, expect, it } from 'vitest';
import type { Item, Prediction } from '../../../core/contracts/competition.js';
import type { Baseline, ChainStep } from '../../../core/contracts/task.js';
import { Simkit } from '../../../core/di/container.js';
import { chainSteps } from '../../../core/pipeline/knn.js';
import { taskStrategy } from './task-strategy.js';
import { SHOPEE_CONFIG } from '../../../competitions/shopee/shopee.js';

const item = (id: string, labels: string[], phash?: string): Item => ({ id, labels, phash, extra: {} });
const GALLERY = [item('g1', ['1']), item('g2', ['1', '2']), item('g3', ['3']), item('g4', ['2', '1'])];
const QUERIES = [item('q1', ['2'], 'p'), item('q2', ['3'], 'p'), item('q3', ['1'])];

const fixed = (baselines: Baseline[]): Record<string, readonly Prediction[]> =>
  Object.fromEntries(baselines.flatMap((b) => ('predictions' in b ? [[b.name, b.predictions]] : [])));
const sets = { queries: QUERIES, gallery: GALLERY, truth: QUERIES };

describe('task strategies: trivial baselines', () => {
  it('multi-label: the most frequent label alone, and every label on every row', () => {
    const result = fixed(taskStrategy('multilabel').baselines(sets, [], 'image'));
    expect(result['most frequent class']!.map((p) => p.labels)).toEqual([['1'], ['1'], ['1']]);
    // Counts: 1 ×3, 2 ×2, 3 ×1.
    expect(result['every class']![0]!.labels).toEqual(['1', '2', '3']);
  });

  it('label tasks: every label ranked by frequency with its share as the score (the writer keeps what the format allows)', () => {
    for (const kind of ['classify', 'recognize'] as const) {
      const result = fixed(taskStrategy(kind).baselines(sets, [], 'image'));
      expect(Object.keys(result)).toEqual(['most frequent class']);
      expect(result['most frequent class']![0]).toEqual({
        id: 'q1',
        labels: ['1', '2', '3'],
        scores: [3 / 4, 2 / 4, 1 / 4],
      });
    }
  });

  it('matching: self only, and items sharing a perceptual hash', () => {
    const result = fixed(
      taskStrategy('match').baselines({ queries: QUERIES, gallery: QUERIES, truth: QUERIES }, [], 'image'),
    );
    expect(result['self only']!.map((p) => p.labels)).toEqual([['q1'], ['q2'], ['q3']]);
    expect(result['phash only']!.map((p) => p.labels)).toEqual([['q1', 'q2'], ['q1', 'q2'], ['q3']]);
  });
});

describe('task strategies: what the trained models add (match)', () => {
  it("Shopee's chain without trained models, without the image model and without the text model", async () => {
    const steps = chainSteps(await Simkit.create(), SHOPEE_CONFIG.postProcessors, 'image');
    expect(steps.map((step) => [step.choice.name, step.models])).toEqual([
      ['min2', ['image']],
      ['phash', []],
      ['tfidf', []],
      ['model-match', ['text']],
      ['combined', ['image', 'text']],
    ]);
    const chains = taskStrategy('match')
      .baselines({ queries: QUERIES, gallery: QUERIES, truth: QUERIES }, steps, 'image')
      .flatMap((b) =>
        'chain' in b ? [[b.name, b.chain.map((choice) => choice.name), b.withoutSearchNeighbours]] : [],
      );
    expect(chains).toEqual([
      ['without trained models', ['phash', 'tfidf'], true],
      ['without the image model', ['phash', 'tfidf', 'model-match'], true],
      ['without the text model', ['min2', 'phash', 'tfidf'], false],
    ]);
  });

  it('an image-only chain has no model baselines', () => {
    const steps: ChainStep[] = [{ choice: { name: 'min2', options: {} }, models: ['image'] }];
    expect(
      taskStrategy('match')
        .baselines({ queries: QUERIES, gallery: QUERIES, truth: QUERIES }, steps, 'image')
        .map((b) => b.name),
    ).toEqual(['self only', 'phash only']);
  });
});

describe('task strategies: submission and solution cells', () => {
  const format = { idColumn: 'id', labelColumn: 'x', maxLabels: 2, withConfidence: false };
  it('labels are capped at the format; with confidence, the best label and its score', () => {
    const prediction = { id: 'q', labels: ['a', 'b', 'c'], scores: [0.5, 0.25, 0.125] };
    expect(taskStrategy('classify').submissionCell(prediction, format)).toBe('a b');
    expect(taskStrategy('recognize').submissionCell(prediction, { ...format, withConfidence: true })).toBe(
      'a 0.500000',
    );
    expect(taskStrategy('recognize').submissionCell({ id: 'q', labels: [] }, { ...format, withConfidence: true })).toBe(
      '',
    );
  });

  it('truth: match — the items sharing a label; retrieve — the index items sharing one, else Ignored; labels otherwise', () => {
    const truth = [item('a', ['1']), item('b', ['1']), item('c', ['2'])];
    expect(taskStrategy('match').solutionCell(truth[0]!, { truth })).toEqual({ cell: 'a b' });
    expect(
      taskStrategy('retrieve').solutionCell(truth[2]!, { truth, index: [item('i', ['2']), item('j', ['1'])] }),
    ).toEqual({ cell: 'i' });
    expect(taskStrategy('retrieve').solutionCell(truth[2]!, { truth, index: [item('j', ['1'])] })).toEqual({
      cell: '',
      usage: 'Ignored',
    });
    expect(taskStrategy('multilabel').solutionCell(item('m', ['3', '1']), { truth })).toEqual({ cell: '3 1' });
  });
});
