import { describe, expect, it } from 'vitest';
import { fnmrAtFmr } from '../../../core/metrics/verification.js';
import { Random } from '../../../core/random.js';

describe('fnmrAtFmr', () => {
  it('hand-checked: the threshold is the impostor similarity at rank ⌊f·n⌋, genuine pairs at or below it are rejected', () => {
    const impostor = [0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.4, 0.6, 0.0, 0.8];
    const genuine = [0.95, 0.85, 0.75, 0.65, 0.55, 0.45];
    // Sorted impostors 0.9 0.8 … 0.0: f 0 → t 0.9 (0.95 accepted: 5/6); f 0.1 → rank 1, t 0.8 (0.95,
    // 0.85 accepted: 4/6); f 0.25 → rank 2, t 0.7 (3/6); f 0.5 → rank 5, t 0.4 (0/6).
    expect(fnmrAtFmr(genuine, impostor, [0, 0.1, 0.25, 0.5])).toEqual({ 0: 5 / 6, 0.1: 4 / 6, 0.25: 3 / 6, 0.5: 0 });
    expect(fnmrAtFmr([], impostor, [0.1])[0.1]).toBeNaN();
    expect(() => fnmrAtFmr(genuine, impostor, [1])).toThrow(RangeError);
  });

  it('agrees with a float64 loop: the largest threshold that accepts at most ⌊f·n⌋ impostors', () => {
    const random = new Random(5);
    const impostor = Array.from({ length: 400 }, () => random.uniform(-1, 0.6));
    const genuine = Array.from({ length: 90 }, () => random.uniform(-0.2, 1));
    for (const rate of [0.001, 0.01, 0.05, 0.2]) {
      const allowed = Math.floor(rate * impostor.length);
      // Every candidate threshold (an impostor similarity) that accepts at most `allowed` impostors; the smallest wins.
      const threshold = Math.min(...impostor.filter((t) => impostor.filter((s) => s > t).length <= allowed));
      const expected = genuine.filter((s) => s <= threshold).length / genuine.length;
      expect(fnmrAtFmr(genuine, impostor, [rate])[rate]).toBeCloseTo(expected, 15);
    }
  });
});
