import { describe, expect, it } from 'vitest';
import { deriveSeed, Random } from '../../core/random.js';

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

  it('derives a seed per seed and names: repeatable, distinct, a non-negative 31-bit integer', () => {
    expect(deriveSeed(42, 'image', 'head', 'arcface')).toBe(deriveSeed(42, 'image', 'head', 'arcface'));
    const seeds = [
      deriveSeed(42, 'image', 'head', 'arcface'),
      deriveSeed(43, 'image', 'head', 'arcface'),
      deriveSeed(42, 'text', 'head', 'arcface'),
      deriveSeed(42, 'image', 'loss', 'arcface'),
      deriveSeed(42, 'ab', 'c'),
      deriveSeed(42, 'a', 'bc'),
      deriveSeed(42),
    ];
    expect(new Set(seeds).size).toBe(seeds.length);
    for (const seed of seeds) {
      expect(Number.isInteger(seed)).toBe(true);
      expect(seed).toBeGreaterThanOrEqual(0);
      expect(seed).toBeLessThan(2 ** 31);
    }
  });
});
