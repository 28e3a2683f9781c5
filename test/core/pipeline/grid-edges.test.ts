import { describe, expect, it } from 'vitest';
import { MAX_EXTENSIONS, describeWall, tuneToEdges } from '../../../core/pipeline/grid-edges.js';
import { withinOptionRange, type Overrides } from '../../../core/pipeline/knn.js';
import { Simkit } from '../../../core/di/container.js';

function counting(score: (o: Overrides) => number) {
  const calls: string[] = [];
  return { calls, score: async (o: Overrides) => (calls.push(JSON.stringify(o)), score(o)) };
}

describe('tuning at the edge of its grid', () => {
  it('a best value at the top grows the grid until the optimum is inside it; each setting is scored once', async () => {
    // Optimum at t = 0.8, two steps past the configured top (0.6); k's best (3) is inside its grid.
    const { calls, score } = counting((o) => -((o.t! - 0.8) ** 2) - (o.k! - 3) ** 2);
    const result = await tuneToEdges({ k: [2, 3, 4], t: [0.2, 0.4, 0.6] }, score, true);
    expect(result.best.overrides).toEqual({ k: 3, t: 0.8 });
    expect(result.extended).toEqual({ t: [0.8, 1] });
    expect(result.walls).toEqual([]);
    expect(new Set(calls).size).toBe(calls.length);
    expect(calls).toHaveLength(3 * 5);
    expect(result.points).toHaveLength(15);
  });

  it('stops after MAX_EXTENSIONS steps and reports the wall, naming the option', async () => {
    const result = await tuneToEdges({ t: [1, 2] }, async (o) => o.t!, true);
    expect(result.extended.t).toHaveLength(MAX_EXTENSIONS);
    expect(result.best.overrides.t).toBe(2 + MAX_EXTENSIONS);
    expect(result.walls).toEqual([{ key: 't', value: 5, side: 'top', tried: [1, 2, 3, 4, 5] }]);
    expect(describeWall(result.walls[0]!)).toContain('widen tune["t"]');
  });

  it('downwards: non-negative grids stop at 0 and counts at 1, where there is no wall to report', async () => {
    const lower = async (o: Overrides) => -o.t! - o.k!;
    const result = await tuneToEdges({ t: [0.3, 0.5], k: [3, 5] }, lower, true);
    expect(result.best.overrides).toEqual({ t: 0, k: 1 });
    expect(result.extended).toEqual({ t: [0.1, 0], k: [1] });
    expect(result.walls).toEqual([]);
    // A grid with negative values has no floor.
    const free = await tuneToEdges({ m: [-1, 0] }, async (o) => -o.m!, true);
    expect(free.walls[0]).toMatchObject({ key: 'm', side: 'bottom', value: -1 - MAX_EXTENSIONS });
  });

  it('a tie beyond the edge keeps the configured value; lower-is-better metrics are extended alike', async () => {
    const flat = await tuneToEdges({ t: [0.5, 1] }, async (o) => (o.t! >= 1 ? 1 : 0), true);
    expect(flat.best.overrides).toEqual({ t: 1 });
    expect(flat.extended).toEqual({ t: [1.5] });
    expect(flat.walls).toEqual([]);
    const error = await tuneToEdges({ t: [1, 2] }, async (o) => Math.abs(o.t! - 3), false);
    expect(error.best.overrides).toEqual({ t: 3 });
    // A single value is no grid: nothing to extend.
    expect((await tuneToEdges({ t: [1] }, async () => 1, true)).extended).toEqual({});
  });

  it('never grows past what the option allows (a blend weight stops at 1), and reports no wall there', async () => {
    const calls: number[] = [];
    const atMostOne = (key: string, value: number) => key !== 'rerank.weight' || value <= 1;
    const result = await tuneToEdges(
      { 'rerank.weight': [0.5, 1] },
      async (o) => (calls.push(o['rerank.weight']!), o['rerank.weight']!),
      true,
      atMostOne,
    );
    expect(result.best.overrides).toEqual({ 'rerank.weight': 1 });
    expect(calls).toEqual([0.5, 1]);
    expect(result.extended).toEqual({});
    expect(result.walls).toEqual([]);
  });

  it("reads what an option allows from its post-processor's declared range", async () => {
    const app = await Simkit.create();
    expect([1, 1.5, 0, -0.5].map((weight) => withinOptionRange(app, 'rerank.weight', weight))).toEqual([
      true,
      false,
      true,
      false,
    ]);
    // An option without a declared range takes any value.
    expect(withinOptionRange(app, 'knn-vote.k', 1000)).toBe(true);
  });
});
