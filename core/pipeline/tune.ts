import { setFlagsFromString } from 'node:v8';
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

/**
 * How far V8 lets the old generation grow past what survived its last full collection while settings are scored,
 * in percent. By default it grows up to four times that before collecting it; tuning applies the chain to every
 * validation query once per setting, those rows live long enough to be promoted, so the heap filled up to that
 * limit and tuning set the run's peak memory (about 4× the live heap; bench/tune-memory.ts). At 50 % the peak is
 * about 1.5× the live heap, at the same speed. A --heap-growing-percent given to node is left alone.
 */
export const TUNING_HEAP_GROWTH_PERCENT = 50;

const growthGivenToNode = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) =>
  arg.includes('heap-growing-percent'),
);
let tuningsRunning = 0;

/** Runs `work` with the old generation's growth held to TUNING_HEAP_GROWTH_PERCENT, then V8's default again. */
export async function withTightHeap<T>(work: () => Promise<T>): Promise<T> {
  if (growthGivenToNode) return work();
  if (tuningsRunning++ === 0) setFlagsFromString(`--heap-growing-percent=${TUNING_HEAP_GROWTH_PERCENT}`);
  try {
    return await work();
  } finally {
    if (--tuningsRunning === 0) setFlagsFromString('--heap-growing-percent=0');
  }
}

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
    return await withTightHeap(() => searchSettings(tune, score, higherIsBetter, limit, progress));
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
