import { describe, expect, it } from 'vitest';
import { Random } from '../../core/random.js';

describe('Random', () => {
  it('repeats for a seed and resumes from a saved state', () => {
    const a = new Random(42);
    const first = Array.from({ length: 5 }, () => a.next());
    const b = new Random(42);
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(first);
    const saved = a.getState();
    const next = a.next();
    const c = new Random(0);
    c.setState(saved);
    expect(c.next()).toBe(next);
  });

  it('is close to uniform and shuffles into a permutation', () => {
    const r = new Random(7);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[r.int(10)]++;
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(500);
    const shuffled = r.shuffle([...Array(50).keys()]);
    expect([...shuffled].sort((x, y) => x - y)).toEqual([...Array(50).keys()]);
    expect(shuffled).not.toEqual([...Array(50).keys()]);
  });
});
