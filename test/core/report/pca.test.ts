import { describe, expect, it } from 'vitest';
import { pca } from '../../../core/report/pca.js';

describe('pca by power iteration', () => {
  it('matches a hand computation on four 2-D points', () => {
    // Points (0,0), (2,0), (0,2), (4,2): mean (1.5, 1).
    // Centred: (-1.5,-1), (0.5,-1), (-1.5,1), (2.5,1).
    // Covariance (divide by n-1 = 3): sxx = (2.25+0.25+2.25+6.25)/3 = 11/3, syy = 4/3,
    // sxy = (1.5-0.5-1.5+2.5)/3 = 2/3.
    // Eigenvalues: (11/3+4/3)/2 ± sqrt(((11/3-4/3)/2)^2 + (2/3)^2) = 2.5 ± sqrt(49/36+16/36) = 2.5 ± sqrt(65)/6.
    // First axis ∝ (sxy, λ1 - sxx) = (2/3, 2.5 + sqrt(65)/6 - 11/3).
    const result = pca([
      [0, 0],
      [2, 0],
      [0, 2],
      [4, 2],
    ]);
    const l1 = 2.5 + Math.sqrt(65) / 6;
    const l2 = 2.5 - Math.sqrt(65) / 6;
    expect([...result.mean]).toEqual([1.5, 1]);
    expect(result.variances[0]).toBeCloseTo(l1, 10);
    expect(result.variances[1]).toBeCloseTo(l2, 10);
    expect(result.totalVariance).toBeCloseTo(11 / 3 + 4 / 3, 12);
    const ax = 2 / 3;
    const ay = l1 - 11 / 3;
    const norm = Math.hypot(ax, ay);
    expect(result.components[0]![0]).toBeCloseTo(ax / norm, 9);
    expect(result.components[0]![1]).toBeCloseTo(ay / norm, 9);
    // Second axis: orthogonal, largest entry positive.
    expect(Math.abs(result.components[1]![0]! * ax + result.components[1]![1]! * ay)).toBeLessThan(1e-9);
    // Projection of the first point on PC1: (-1.5, -1) · axis.
    expect(result.projections[0]![0]).toBeCloseTo((-1.5 * ax - 1 * ay) / norm, 9);
  });

  it('recovers the axes of data built on a known orthonormal plane in 5-D', () => {
    const u = [1, 1, 1, 1, 0].map((v) => v / 2);
    const w = [1, -1, 1, -1, 0].map((v) => v / 2);
    const rows: number[][] = [];
    for (let i = 0; i < 40; i++) {
      const s = 3 * Math.cos(i * 0.7) + 0.5; // larger spread along u
      const t = Math.sin(i * 1.3);
      rows.push(u.map((uj, j) => 10 + s * uj + t * w[j]!));
    }
    const result = pca(rows, { components: 2 });
    // Variance along u and w from plain float64 loops over the coordinates s and t.
    const ss = rows.map((_, i) => 3 * Math.cos(i * 0.7) + 0.5);
    const ts = rows.map((_, i) => Math.sin(i * 1.3));
    const variance = (xs: number[]) => {
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      return xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
    };
    const covariance = (() => {
      const ms = ss.reduce((a, b) => a + b, 0) / ss.length;
      const mt = ts.reduce((a, b) => a + b, 0) / ts.length;
      return ss.reduce((a, s, i) => a + (s - ms) * (ts[i]! - mt), 0) / (ss.length - 1);
    })();
    // Eigenvalues of the 2×2 covariance of (s, t), which PCA of the 5-D rows must reproduce.
    const [a, c, b] = [variance(ss), variance(ts), covariance];
    const l1 = (a + c) / 2 + Math.sqrt(((a - c) / 2) ** 2 + b * b);
    const l2 = (a + c) / 2 - Math.sqrt(((a - c) / 2) ** 2 + b * b);
    expect(result.variances[0]).toBeCloseTo(l1, 8);
    expect(result.variances[1]).toBeCloseTo(l2, 8);
    expect(result.totalVariance).toBeCloseTo(a + c, 10);
    // Both axes lie in span(u, w): no component along the fifth coordinate.
    for (const axis of result.components) expect(Math.abs(axis[4]!)).toBeLessThan(1e-9);
  });

  it('stops at the rank of the data and handles a single direction', () => {
    const result = pca(
      [
        [1, 2, 3],
        [2, 4, 6],
        [3, 6, 9],
      ],
      { components: 3 },
    );
    expect(result.components).toHaveLength(1);
    expect(result.variances[0]).toBeCloseTo(14, 9); // values along (1,2,3)/√14: -√14, 0, √14 → variance 14
  });
});
