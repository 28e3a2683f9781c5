import type { RandomSource } from './contracts/random.js';

/** The seed of a run that names none (`simkit run` without `--seed`). */
export const DEFAULT_SEED = 42;

/**
 * Seeded, serialisable pseudo-random numbers (SplitMix32-style mixing over a 32-bit counter), so that
 * shuffles, splits and augmentations repeat exactly for a seed and resume exactly from a checkpoint.
 */
export class Random implements RandomSource {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 0x1_0000_0000;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  /** An independent stream derived from this one (for a worker or a sub-task). */
  fork(): Random {
    return new Random(Math.floor(this.next() * 0x1_0000_0000));
  }

  getState(): number {
    return this.state;
  }

  setState(state: number): void {
    this.state = state >>> 0;
  }
}

/**
 * A seed derived from `seed` and the names of what it seeds (`deriveSeed(42, 'image', 'head', 'arcface')`): the same
 * for the same seed and names, and another for another seed or other names, so that every seeded component of a run
 * follows the run's seed without two of them sharing their random draws.
 */
export function deriveSeed(seed: number, ...names: readonly string[]): number {
  let hash = Math.imul((seed >>> 0) ^ 0x811c9dc5, 0x01000193) >>> 0;
  for (const name of names) {
    for (const char of `${name}/`) hash = Math.imul(hash ^ char.codePointAt(0)!, 0x01000193) >>> 0;
  }
  return new Random(hash).int(0x8000_0000);
}
