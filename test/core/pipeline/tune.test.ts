import { describe, expect, it, vi } from 'vitest';
import { SHOPEE_CONFIG } from '../../../competitions/shopee/shopee.js';
import { Simkit } from '../../../core/di/container.js';
import { checkTuneKeys, tuneOf, type Overrides } from '../../../core/pipeline/knn.js';
import { grid, tuneSettings } from '../../../core/pipeline/tune.js';

// Each bar tuning opens: its total, the items advanced and grown.
const bars: { total: number; advanced: number; grown: number[] }[] = [];
vi.mock('../../../core/progress.js', async (importOriginal) => {
  const progress = await importOriginal<typeof import('../../../core/progress.js')>();
  return {
    ...progress,
    itemProgress: (_label: string, total: number) => {
      const bar = { total, advanced: 0, grown: [] as number[] };
      bars.push(bar);
      return {
        advance: (items: number) => (bar.advanced += items),
        grow: (items: number) => bar.grown.push(items),
        stop() {},
      };
    },
  };
});

// A separable score with its maximum at a=3, b=20, c=0.5: coordinate ascent must reach it.
const separable = (o: Overrides) => -((o.a! - 3) ** 2) - ((o.b! - 20) / 10) ** 2 - (o.c! - 0.5) ** 2;
const TUNE = { a: [1, 2, 3, 4, 5], b: [0, 10, 20, 30], c: [0, 0.5, 1] };

function counting(score: (o: Overrides) => number | null) {
  const calls: string[] = [];
  return { calls, score: async (o: Overrides) => (calls.push(JSON.stringify(o)), score(o)) };
}

describe('tuneSettings', () => {
  it('grid: every combination once, the first best kept', async () => {
    expect(grid(TUNE)).toHaveLength(60);
    expect(grid({ a: [1, 2], b: [] })).toEqual([{ a: 1 }, { a: 2 }]);
    expect(grid({})).toEqual([{}]);
    const { calls, score } = counting(separable);
    const result = await tuneSettings(TUNE, score, true);
    expect(result.strategy).toBe('grid');
    expect(calls).toHaveLength(60);
    expect(new Set(calls).size).toBe(60);
    expect(result.best).toEqual({ overrides: { a: 3, b: 20, c: 0.5 }, score: -0 });
    // Ties keep the first setting in grid order.
    const tie = await tuneSettings({ a: [1, 2, 3] }, async () => 1, true);
    expect(tie.best.overrides).toEqual({ a: 1 });
  });

  it('coordinate ascent beyond the limit: reaches the separable optimum, scores each setting once', async () => {
    const { calls, score } = counting(separable);
    const result = await tuneSettings(TUNE, score, true, 10);
    expect(result.strategy).toBe('coordinate ascent');
    expect(result.best.overrides).toEqual({ a: 3, b: 20, c: 0.5 });
    expect(new Set(calls).size).toBe(calls.length);
    expect(calls.length).toBeLessThan(60);
    expect(result.points).toHaveLength(calls.length);
    // The first setting is every key's first value.
    expect(JSON.parse(calls[0]!)).toEqual({ a: 1, b: 0, c: 0 });
  });

  it('lower is better; a null score never wins over a number', async () => {
    const lower = await tuneSettings(TUNE, async (o) => -separable(o), false, 10);
    expect(lower.best.overrides).toEqual({ a: 3, b: 20, c: 0.5 });
    const withNull = await tuneSettings({ a: [1, 2, 3] }, async (o) => (o.a === 1 ? null : o.a!), true);
    expect(withNull.best).toEqual({ overrides: { a: 3 }, score: 3 });
    const allNull = await tuneSettings({ a: [1, 2] }, async () => null, true);
    expect(allNull.best).toEqual({ overrides: { a: 1 }, score: null });
  });

  it('coordinate ascent takes another pass when a key moved (the best b depends on a)', async () => {
    // From (a1, b1): pass one moves b to 2, then a to 2; only a second pass finds b3 at a2.
    const table: Record<string, number> = { '1,1': 1, '1,2': 2, '2,2': 3, '2,3': 5 };
    const { calls, score } = counting((o) => table[`${o.a},${o.b}`] ?? 0);
    const result = await tuneSettings({ b: [1, 2, 3], a: [1, 2, 3] }, score, true, 1);
    expect(result.best).toEqual({ overrides: { b: 3, a: 2 }, score: 5 });
    expect(calls.length).toBeLessThan(9);
  });
});

describe('tune keys', () => {
  it('every key names a post-processor of the chain and one of its options, or the run stops before training', async () => {
    const app = await Simkit.create();
    expect(() => checkTuneKeys(app, SHOPEE_CONFIG)).not.toThrow();
    const chain = [{ name: 'min2', options: {} }];
    expect(() => checkTuneKeys(app, { postProcessors: chain, tune: { 'tfidf.threshold': [0.5] } })).toThrow(
      'tune key "tfidf.threshold" names no post-processor of the chain',
    );
    expect(() => checkTuneKeys(app, { postProcessors: chain, tune: { 'min2.limit': [0.5] } })).toThrow(
      'tune key "min2.limit": min2 has no option "limit"',
    );
  });

  it("a part of the chain is tuned on its own post-processors' keys, in the config's order", () => {
    const chain = SHOPEE_CONFIG.postProcessors.filter(
      (choice) => choice.name !== 'model-match' && choice.name !== 'combined',
    );
    expect(Object.keys(tuneOf(chain, SHOPEE_CONFIG.tune))).toEqual(['min2.threshold', 'min2.floor', 'tfidf.threshold']);
  });

  it('a bar over the settings: the grid, or one pass of coordinate ascent more at each pass', async () => {
    bars.length = 0;
    await tuneSettings(TUNE, async (o) => separable(o), true);
    expect(bars).toEqual([{ total: 60, advanced: 60, grown: [] }]);
    bars.length = 0;
    const { calls, score } = counting(separable);
    await tuneSettings(TUNE, score, true, 10);
    const [bar] = bars;
    // Every setting visited advances the bar, those scored before included (they are not scored again).
    expect(bar!.total).toBe(1 + 12);
    expect(bar!.grown.length).toBeGreaterThan(0);
    expect(bar!.grown.every((items) => items === 12)).toBe(true);
    expect(bar!.advanced).toBe(bar!.total + 12 * bar!.grown.length);
    expect(bar!.advanced).toBeGreaterThan(calls.length);
  });
});
