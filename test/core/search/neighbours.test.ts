import { describe, expect, it } from 'vitest';
import { filterNeighbours } from '../../../core/search/neighbours.js';
import { Random } from '../../../core/random.js';
import { randomRows } from './random-rows.js';

describe('filterNeighbours', () => {
  it('keeps what Array.filter keeps, and returns a row that keeps everything as it is', () => {
    const random = new Random(3);
    const rows = randomRows(random, 300, 50, 15);
    for (const threshold of [0, 0.4, 0.9, 1.1]) {
      const keep = (q: number, r: number) => rows[q]!.similarities[r]! >= threshold || r === q % 3;
      const kept = filterNeighbours(rows, keep);
      expect(kept).toEqual(
        rows.map((row, q) => ({
          indices: row.indices.filter((_, r) => keep(q, r)),
          similarities: row.similarities.filter((_, r) => keep(q, r)),
        })),
      );
      kept.forEach((row, q) => {
        if (row.indices.length === rows[q]!.indices.length) expect(row).toBe(rows[q]);
      });
    }
  });
});
