import { describe, expect, it } from 'vitest';
import type { Item } from '../../core/contracts/competition.js';
import { baselines } from '../../core/pipeline/baselines.js';
import { competition } from '../competitions/helpers.js';

const item = (id: string, labels: string[], phash?: string): Item => ({ id, labels, phash, extra: {} });
const GALLERY = [item('g1', ['1']), item('g2', ['1', '2']), item('g3', ['3']), item('g4', ['2', '1'])];
const QUERIES = [item('q1', ['2'], 'p'), item('q2', ['3'], 'p'), item('q3', ['1'])];

describe('trivial baselines', () => {
  it('multi-label: the most frequent label alone, and every label on every row', async () => {
    const result = baselines(await competition('protein'), QUERIES, GALLERY);
    expect(result['most frequent class']!.map((p) => p.labels)).toEqual([['1'], ['1'], ['1']]);
    // Counts: 1 ×3, 2 ×2, 3 ×1.
    expect(result['every class']![0]!.labels).toEqual(['1', '2', '3']);
  });

  it('label tasks: every label ranked by frequency with its share as the score (the writer keeps what the format allows)', async () => {
    const result = baselines(await competition('hotels'), QUERIES, GALLERY);
    expect(Object.keys(result)).toEqual(['most frequent class']);
    expect(result['most frequent class']![0]).toEqual({ id: 'q1', labels: ['1', '2', '3'], scores: [3 / 4, 2 / 4, 1 / 4] });
  });

  it('matching: self only, and items sharing a perceptual hash', async () => {
    const result = baselines(await competition('shopee'), QUERIES, QUERIES);
    expect(result['self only']!.map((p) => p.labels)).toEqual([['q1'], ['q2'], ['q3']]);
    expect(result['phash only']!.map((p) => p.labels)).toEqual([['q1', 'q2'], ['q1', 'q2'], ['q3']]);
  });
});
