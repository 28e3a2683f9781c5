import { itemProgress, type ItemProgress } from '../progress.js';
import type { Overrides } from './knn.js';

export interface TuningPoint {
  readonly overrides: Overrides;
  readonly score: number | null;
}

export interface TuningResult {
  readonly best: TuningPoint;
  /** Every setting tried, in order. */
  readonly points: readonly TuningPoint[];
  readonly strategy: 'grid' | 'coordinate ascent';
}

/** Grids up to this many settings are tried in full; larger ones by coordinate ascent. */
export const FULL_GRID_LIMIT = 200;

const MAX_PASSES = 4;

type Tune = Readonly<Record<string, readonly number[]>>;

/** Every combination of the tuned values. */
export function grid(tune: Tune): Overrides[] {
  let combos: Record<string, number>[] = [{}];
  for (const [key, values] of Object.entries(tune)) {
    if (values.length === 0) continue;
    combos = combos.flatMap((combo) => values.map((value) => ({ ...combo, [key]: value })));
  }
  return combos;
}

function gridSize(tune: Tune): number {
  return Object.values(tune).reduce((size, values) => size * Math.max(1, values.length), 1);
}

/**
 * The best setting of the `tune` values by `score` (null: no score, worst). A grid of up to
 * FULL_GRID_LIMIT settings is tried in full, the first best setting kept. A larger one is searched
 * by coordinate ascent: start at each key's first value, sweep one key at a time holding the
 * others at the best so far, and repeat the passes (at most four) until one changes nothing. Each
 * setting is scored once.
 */
export async function tuneSettings(
  tune: Tune,
  score: (overrides: Overrides) => Promise<number | null>,
  higherIsBetter: boolean,
  limit = FULL_GRID_LIMIT,
): Promise<TuningResult> {
  // A bar over the settings, on a terminal: the grid, or one pass of coordinate ascent more at each pass.
  const progress = itemProgress(
    'tuning (settings)',
    gridSize(tune) <= limit ? gridSize(tune) : 1 + sweepSize(tune),
    undefined,
    0,
  );
  try {
    return await searchSettings(tune, score, higherIsBetter, limit, progress);
  } finally {
    progress.stop();
  }
}

/** Settings of one pass of coordinate ascent. */
function sweepSize(tune: Tune): number {
  return Object.values(tune).reduce((size, values) => size + values.length, 0);
}

async function searchSettings(
  tune: Tune,
  score: (overrides: Overrides) => Promise<number | null>,
  higherIsBetter: boolean,
  limit: number,
  progress: ItemProgress,
): Promise<TuningResult> {
  const better = (a: number | null, b: number | null) => a !== null && (b === null || (higherIsBetter ? a > b : a < b));
  const points: TuningPoint[] = [];
  const seen = new Map<string, number | null>();
  const evaluate = async (overrides: Overrides): Promise<TuningPoint> => {
    const key = JSON.stringify(overrides);
    if (!seen.has(key)) {
      const point = { overrides, score: await score(overrides) };
      seen.set(key, point.score);
      points.push(point);
    }
    progress.advance(1);
    return { overrides, score: seen.get(key)! };
  };

  if (gridSize(tune) <= limit) {
    let best: TuningPoint | undefined;
    for (const overrides of grid(tune)) {
      const point = await evaluate(overrides);
      if (!best || better(point.score, best.score)) best = point;
    }
    return { best: best!, points, strategy: 'grid' };
  }

  const keys = Object.keys(tune).filter((key) => tune[key]!.length > 0);
  let best = await evaluate(Object.fromEntries(keys.map((key) => [key, tune[key]![0]!])));
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    if (pass > 0) progress.grow(sweepSize(tune));
    const before = JSON.stringify(best.overrides);
    for (const key of keys) {
      for (const value of tune[key]!) {
        const point = await evaluate({ ...best.overrides, [key]: value });
        if (better(point.score, best.score)) best = point;
      }
    }
    if (JSON.stringify(best.overrides) === before) break;
  }
  return { best, points, strategy: 'coordinate ascent' };
}
