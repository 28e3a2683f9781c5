import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Random } from '../../../core/random.js';

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'simkit-index-test-'));
}

/** `rows` random unit vectors of dimension `dim` (Gaussian-ish coordinates, normalised in float64). */
export function unitVectors(rows: number, dim: number, seed: number): Float32Array {
  const random = new Random(seed);
  const out = new Float32Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    const v = Array.from({ length: dim }, () => random.next() + random.next() + random.next() - 1.5);
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    v.forEach((x, j) => (out[i * dim + j] = x / norm));
  }
  return out;
}

export const idsFor = (n: number, prefix = 'item'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Float64 brute force: for each query, gallery rows sorted by inner product descending. */
export function bruteForce(
  queries: Float32Array,
  gallery: Float32Array,
  dim: number,
  k: number,
): { index: number; similarity: number }[][] {
  const result: { index: number; similarity: number }[][] = [];
  for (let q = 0; q < queries.length / dim; q++) {
    const scored: { index: number; similarity: number }[] = [];
    for (let g = 0; g < gallery.length / dim; g++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += queries[q * dim + j]! * gallery[g * dim + j]!;
      scored.push({ index: g, similarity: dot });
    }
    scored.sort((a, b) => b.similarity - a.similarity);
    result.push(scored.slice(0, k));
  }
  return result;
}
