import type { Overrides } from './knn.js';
import { tuneSettings, type TuningResult } from './tune.js';

type Tune = Readonly<Record<string, readonly number[]>>;

/** A tuned option whose best value is still the first or last of its grid: a better one may lie beyond. */
export interface GridWall {
  readonly key: string;
  readonly value: number;
  readonly side: 'top' | 'bottom';
  /** Every value tried, ascending (the configured ones and the extensions). */
  readonly tried: readonly number[];
}

export interface EdgeAwareTuning extends TuningResult {
  /** Values added beyond the configured grid, by key, in the order tried. */
  readonly extended: Readonly<Record<string, readonly number[]>>;
  /** Options still at an edge after the extensions: the warning names them. */
  readonly walls: readonly GridWall[];
}

/** Extension steps per option beyond its configured grid. */
export const MAX_EXTENSIONS = 3;

const tidy = (value: number) => Number(value.toPrecision(12));

/**
 * The value one step past the edge `value` sits on, or undefined when there is none to try: the
 * step is the grid's spacing at that edge; a grid of non-negative values never goes below 0, and
 * one of positive integers (counts such as k) stays at 1 or more.
 */
function beyond(values: readonly number[], value: number): { next: number; side: 'top' | 'bottom' } | undefined {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  if (sorted.length < 2) return undefined;
  const low = sorted[0]!;
  const high = sorted[sorted.length - 1]!;
  const floor = sorted.every(Number.isInteger) && low >= 1 ? 1 : low >= 0 ? 0 : -Infinity;
  if (value === high) return { next: tidy(high + (high - sorted[sorted.length - 2]!)), side: 'top' };
  if (value === low && low > floor) return { next: Math.max(floor, tidy(low - (sorted[1]! - low))), side: 'bottom' };
  return undefined;
}

/** Whether an option may take a value (the range its component declares). */
export type Allowed = (key: string, value: number) => boolean;

/** Options whose best value is at an edge of their grid with a value beyond it, allowed, to try. */
function edges(tune: Tune, best: Overrides, allowed: Allowed): (GridWall & { next: number })[] {
  return Object.entries(tune).flatMap(([key, values]) => {
    const value = best[key];
    const step = value === undefined ? undefined : beyond(values, value);
    if (value === undefined || !step || !allowed(key, step.next)) return [];
    return [{ key, value, side: step.side, next: step.next, tried: [...values].sort((a, b) => a - b) }];
  });
}

/**
 * tuneSettings, then: while the best value of an option is the top or bottom of its grid, the grid
 * grows one step that way (at most MAX_EXTENSIONS times per option) and the search runs again, each
 * setting scored once. New values go to the end of the grid, so that a tie keeps the configured
 * value. What is still at an edge afterwards is returned as a wall, for the run to warn about. A grid never grows past
 * what `allowed` accepts (an option's declared range: a blend weight stops at 1).
 */
export async function tuneToEdges(
  tune: Tune,
  score: (overrides: Overrides) => Promise<number | null>,
  higherIsBetter: boolean,
  allowed: Allowed = () => true,
): Promise<EdgeAwareTuning> {
  const scores = new Map<string, Promise<number | null>>();
  const cached = (overrides: Overrides) => {
    const key = JSON.stringify(Object.entries(overrides).sort(([a], [b]) => (a < b ? -1 : 1)));
    let value = scores.get(key);
    if (!value) scores.set(key, (value = score(overrides)));
    return value;
  };
  const grid: Record<string, number[]> = Object.fromEntries(Object.entries(tune).map(([key, v]) => [key, [...v]]));
  const extended: Record<string, number[]> = {};
  let result = await tuneSettings(grid, cached, higherIsBetter);
  for (;;) {
    const growing = edges(grid, result.best.overrides, allowed).filter(
      ({ key, next }) => (extended[key]?.length ?? 0) < MAX_EXTENSIONS && !grid[key]!.includes(next),
    );
    if (growing.length === 0) break;
    for (const { key, next } of growing) {
      grid[key]!.push(next);
      (extended[key] ??= []).push(next);
    }
    result = await tuneSettings(grid, cached, higherIsBetter);
  }
  const walls = edges(grid, result.best.overrides, allowed).map(({ key, value, side, tried }) => ({
    key,
    value,
    side,
    tried,
  }));
  return { ...result, extended, walls };
}

/** One line per wall: which option, where it stopped, and what to change. */
export function describeWall(wall: GridWall): string {
  return (
    `tuning: the best ${wall.key}=${wall.value} is the ${wall.side} of the values tried (${wall.tried.join(', ')}); ` +
    `a better value may lie beyond: widen tune["${wall.key}"] in the config`
  );
}
