/** Seeded pseudo-random numbers as samplers draw them (core/random.ts implements it). */
export interface RandomSource {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  uniform(low: number, high: number): number;
  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[];
}
