import { describe, expect, it } from 'vitest';
import { validationMetrics } from '../../../core/pipeline/embedding-model.js';

const unit = (angle: number) => [Math.cos(angle), Math.sin(angle)];
const vectors = (angles: number[]) => Float32Array.from(angles.flatMap(unit));

describe('validation metrics of an epoch', () => {
  it('item split: queries search the gallery; R counts the gallery items of the label', () => {
    // Gallery: a at 0.0 and 0.1, b at 1.0, c at 2.0. Query a (0.05): a, a first → P@1 1, AP@R 1.
    // Query b (0.5): nearest is a (0.1, distance 0.4), then b (1.0, 0.5) → P@1 0; R = 1, AP@R 0.
    // Query c (1.8): c first → 1, 1.
    const gallery = { vectors: vectors([0, 0.1, 1, 2]), labels: ['a', 'a', 'b', 'c'] };
    const metrics = validationMetrics(vectors([0.05, 0.5, 1.8]), ['a', 'b', 'c'], 2, gallery);
    expect(metrics['precision@1']).toBeCloseTo(2 / 3, 6);
    expect(metrics['MAP@R']).toBeCloseTo(2 / 3, 6);
  });

  it('label split: queries search each other, themselves left out; a query alone in its class is not counted', () => {
    // a at 0 and 0.3 find each other first (1 each). b at 1.0: a at 0.3 (0.7 away) comes before b at
    // 2.05 (1.05 away) → 0. b at 2.05: c at 3.0 (0.95 away) comes before b at 1.0 → 0. c has no other
    // of its label, so it is not counted: four queries.
    const queries = vectors([0, 0.3, 1, 2.05, 3]);
    const metrics = validationMetrics(queries, ['a', 'a', 'b', 'b', 'c'], 2);
    expect(metrics['precision@1']).toBeCloseTo(2 / 4, 6);
    expect(metrics['MAP@R']).toBeCloseTo(2 / 4, 6);
  });
});
