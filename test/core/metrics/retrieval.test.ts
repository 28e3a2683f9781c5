import { describe, expect, it } from 'vitest';
import { Random } from '../../../core/random.js';
import { retrievalMetrics } from '../../../core/metrics/retrieval.js';

// Labels a a a b b c: R = 2 for the a's, 1 for the b's, 0 for c (left out).
const labels = ['a', 'a', 'a', 'b', 'b', 'c'];
const neighbours = [
  ['a', 'b', 'a'],
  ['b', 'a', 'a'],
  ['a', 'a', 'b'],
  ['a', 'b', 'a'],
  ['b', 'a', 'a'],
  ['a', 'b', 'a'],
];

describe('retrievalMetrics', () => {
  it('computes each metric on a hand-checked example', () => {
    const metrics = retrievalMetrics(labels, neighbours, { recallAt: [1, 2] });
    // Per counted query (0..4): P@1 1,0,1,0,1; R-precision 1/2,1/2,1,0,1; MAP@R 1/2,(1/2)(1/2),1,0,1; hit@2 1,1,1,1,1.
    expect(metrics.queries).toBe(5);
    expect(metrics.loneQueries).toBe(1);
    expect(metrics.precisionAt1).toBeCloseTo(3 / 5, 15);
    expect(metrics.rPrecision).toBeCloseTo((0.5 + 0.5 + 1 + 0 + 1) / 5, 15);
    expect(metrics.mapAtR).toBeCloseTo((0.5 + 0.25 + 1 + 0 + 1) / 5, 15);
    expect(metrics.recallAt).toEqual({ 1: 3 / 5, 2: 1 });
  });

  it('precision@k and mAP@k divide by min(k, R), on the same hand-checked example', () => {
    const metrics = retrievalMetrics(labels, neighbours, { precisionAt: [1, 3] });
    // precision@3 (÷ min(3, R)): a's 2/2, 2/2, 2/2; b's 1/1, 1/1. mAP@3: a's (1 + 2/3)/2, (1/2 + 2/3)/2, (1 + 1)/2;
    // b's 1/2 (hit at 2), 1.
    expect(metrics.precisionAt[1]).toBeCloseTo(3 / 5, 15);
    expect(metrics.precisionAt[3]).toBeCloseTo(1, 15);
    expect(metrics.mapAt[3]).toBeCloseTo(((1 + 2 / 3) / 2 + (1 / 2 + 2 / 3) / 2 + 1 + 1 / 2 + 1) / 5, 15);
    expect(metrics.mapAt[1]).toBeCloseTo(3 / 5, 15);
  });

  it('uses given relevant counts and counts missing neighbours as misses', () => {
    const metrics = retrievalMetrics([1], [[1]], { relevantCounts: [4], recallAt: [3] });
    expect(metrics.rPrecision).toBe(1 / 4);
    expect(metrics.mapAtR).toBe(1 / 4);
    expect(metrics.recallAt[3]).toBe(1);
  });

  it('compares labels with ===, so 1 and "1" differ', () => {
    expect(retrievalMetrics([1, 1], [['1'], [1]]).precisionAt1).toBe(0.5);
  });

  it('refuses mismatched lengths', () => {
    expect(() => retrievalMetrics([1, 2], [[1]])).toThrow(RangeError);
  });

  it('agrees with a brute-force kNN evaluation written from the definitions', () => {
    const random = new Random(21);
    const n = 120;
    const labels = Array.from({ length: n }, () => random.int(9));
    const points = labels.map((label) => [label + random.uniform(-1.5, 1.5), random.uniform(-1, 1)]);
    const k = 15;
    const neighbourLabels = points.map((p, q) =>
      points
        .map((other, j) => ({ j, d: (p[0]! - other[0]!) ** 2 + (p[1]! - other[1]!) ** 2 }))
        .filter(({ j }) => j !== q)
        .sort((a, b) => a.d - b.d)
        .slice(0, k)
        .map(({ j }) => labels[j]!),
    );
    let counted = 0;
    let p1 = 0;
    let rp = 0;
    let mapr = 0;
    let recall5 = 0;
    let precision10 = 0;
    let map10 = 0;
    labels.forEach((label, q) => {
      const r = labels.filter((other, j) => j !== q && other === label).length;
      if (r === 0) return;
      counted++;
      const rel = neighbourLabels[q]!.map((x) => (x === label ? 1 : 0));
      p1 += rel[0]!;
      rp += rel.slice(0, r).reduce((a: number, b) => a + b, 0) / r;
      let ap = 0;
      for (let i = 0; i < Math.min(r, rel.length); i++) {
        if (rel[i]) ap += rel.slice(0, i + 1).reduce((a: number, b) => a + b, 0) / (i + 1);
      }
      mapr += ap / r;
      recall5 += rel.slice(0, 5).some(Boolean) ? 1 : 0;
      const top = rel.slice(0, 10);
      precision10 += top.reduce((a: number, b) => a + b, 0) / Math.min(10, r);
      let ap10 = 0;
      top.forEach((hit, i) => {
        if (hit) ap10 += top.slice(0, i + 1).reduce((a: number, b) => a + b, 0) / (i + 1);
      });
      map10 += ap10 / Math.min(10, r);
    });
    const metrics = retrievalMetrics(labels, neighbourLabels, { recallAt: [5], precisionAt: [10] });
    expect(metrics.precisionAt[10]).toBeCloseTo(precision10 / counted, 12);
    expect(metrics.mapAt[10]).toBeCloseTo(map10 / counted, 12);
    expect(metrics.queries).toBe(counted);
    expect(metrics.precisionAt1).toBeCloseTo(p1 / counted, 12);
    expect(metrics.rPrecision).toBeCloseTo(rp / counted, 12);
    expect(metrics.mapAtR).toBeCloseTo(mapr / counted, 12);
    expect(metrics.recallAt[5]).toBeCloseTo(recall5 / counted, 12);
  });
});
