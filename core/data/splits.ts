import { UserError } from '../errors.js';
import { Random } from '../random.js';

type Key = string | number;

/** Positions of items (in the list given) on each side of a split, ascending. */
export interface Fold {
  readonly train: number[];
  readonly validation: number[];
}

export interface GroupKFoldOptions<T> {
  /** Number of folds, at least 2. */
  readonly folds: number;
  /** The group of an item: items of one group are never split between train and validation. */
  readonly group: (item: T, index: number) => Key;
  /** Balance the distribution of this label over the folds (like scikit-learn's StratifiedGroupKFold). */
  readonly stratify?: (item: T, index: number) => Key;
  /** Default 0. */
  readonly seed?: number;
}

interface Group {
  readonly members: number[];
  /** Label index → count, for stratification. */
  readonly labels: Map<number, number>;
}

/** Groups in first-appearance order, shuffled with the seed. */
function shuffledGroups<T>(
  items: readonly T[],
  group: (item: T, index: number) => Key,
  stratify: ((item: T, index: number) => Key) | undefined,
  seed: number,
): { groups: Group[]; labelCount: number } {
  const byKey = new Map<Key, Group>();
  const labelIndex = new Map<Key, number>();
  items.forEach((item, index) => {
    const key = group(item, index);
    let entry = byKey.get(key);
    if (!entry) byKey.set(key, (entry = { members: [], labels: new Map() }));
    entry.members.push(index);
    if (stratify) {
      const label = stratify(item, index);
      if (!labelIndex.has(label)) labelIndex.set(label, labelIndex.size);
      const l = labelIndex.get(label)!;
      entry.labels.set(l, (entry.labels.get(l) ?? 0) + 1);
    }
  });
  return { groups: new Random(seed).shuffle([...byKey.values()]), labelCount: labelIndex.size };
}

/**
 * K folds in which a group never spans train and validation. Groups are shuffled with the seed,
 * then placed largest first: without `stratify` into the fold with the fewest items (so fold sizes
 * differ by at most about one group); with `stratify` into the fold that keeps each label's share
 * per fold most even (the standard deviation over folds of count / label total, summed over the
 * group's labels), ties going to the smaller fold. Fold f's validation side is its own groups.
 */
export function groupKFold<T>(items: readonly T[], options: GroupKFoldOptions<T>): Fold[] {
  const { folds, seed = 0, stratify } = options;
  if (!Number.isInteger(folds) || folds < 2)
    throw new UserError(`folds must be an integer of at least 2, got ${folds}`);
  const { groups, labelCount } = shuffledGroups(items, options.group, stratify, seed);
  if (groups.length < folds) {
    throw new UserError(`cannot make ${folds} folds from ${groups.length} group(s)`, 'use fewer folds or finer groups');
  }
  const sizes = new Array<number>(folds).fill(0);
  const assigned: number[][] = Array.from({ length: folds }, () => []);
  const labelTotals = new Float64Array(labelCount);
  for (const group of groups) for (const [label, count] of group.labels) labelTotals[label]! += count;
  const labelCounts = Array.from({ length: folds }, () => new Float64Array(labelCount));
  const order = stratify
    ? stableSortDescending(groups, (group) => countSpread(group, labelCount))
    : stableSortDescending(groups, (group) => group.members.length);

  for (const group of order) {
    let best = 0;
    let bestCost = Infinity;
    for (let f = 0; f < folds; f++) {
      const cost = stratify ? stratificationCost(group, f, labelCounts, labelTotals) : 0;
      if (cost < bestCost - 1e-12 || (Math.abs(cost - bestCost) <= 1e-12 && sizes[f]! < sizes[best]!)) {
        best = f;
        bestCost = cost;
      }
    }
    sizes[best]! += group.members.length;
    assigned[best]!.push(...group.members);
    for (const [label, count] of group.labels) labelCounts[best]![label]! += count;
  }
  return assigned.map((validation, f) => ({
    train: assigned.flatMap((members, other) => (other === f ? [] : members)).sort((a, b) => a - b),
    validation: [...validation].sort((a, b) => a - b),
  }));
}

/** Sum over the group's labels of the spread of that label's per-fold share if the group joined fold `target`. */
function stratificationCost(group: Group, target: number, labelCounts: Float64Array[], totals: Float64Array): number {
  let cost = 0;
  for (const [label, count] of group.labels) {
    let sum = 0;
    let squares = 0;
    for (let f = 0; f < labelCounts.length; f++) {
      const share = (labelCounts[f]![label]! + (f === target ? count : 0)) / totals[label]!;
      sum += share;
      squares += share * share;
    }
    const mean = sum / labelCounts.length;
    cost += Math.sqrt(Math.max(0, squares / labelCounts.length - mean * mean));
  }
  return cost;
}

/** Standard deviation of a group's label counts over all labels (scikit-learn orders groups by it). */
function countSpread(group: Group, labelCount: number): number {
  let sum = 0;
  let squares = 0;
  for (const count of group.labels.values()) {
    sum += count;
    squares += count * count;
  }
  const mean = sum / labelCount;
  return Math.sqrt(Math.max(0, squares / labelCount - mean * mean));
}

function stableSortDescending<T>(values: readonly T[], key: (value: T) => number): T[] {
  return values
    .map((value, index) => ({ value, index, key: key(value) }))
    .sort((a, b) => b.key - a.key || a.index - b.index)
    .map((entry) => entry.value);
}

export interface HoldoutOptions<T> {
  /** Share of the items to hold out for validation, in (0, 1). */
  readonly fraction: number;
  readonly group: (item: T, index: number) => Key;
  /** Default 0. */
  readonly seed?: number;
}

/**
 * One train/validation split in whole groups: groups are taken in a seeded random order, and each
 * joins validation when that brings its size closer to fraction × items.
 */
export function groupHoldout<T>(items: readonly T[], options: HoldoutOptions<T>): Fold {
  const { fraction, seed = 0 } = options;
  if (!(fraction > 0 && fraction < 1)) throw new UserError(`fraction must be between 0 and 1, got ${fraction}`);
  const { groups } = shuffledGroups(items, options.group, undefined, seed);
  const target = fraction * items.length;
  const train: number[] = [];
  const validation: number[] = [];
  for (const group of groups) {
    const closer = Math.abs(validation.length + group.members.length - target) < Math.abs(validation.length - target);
    (closer ? validation : train).push(...group.members);
  }
  if (validation.length === 0 || train.length === 0) {
    throw new UserError(
      `cannot hold out ${fraction} of ${items.length} item(s) in whole groups (${groups.length} group(s))`,
      'change the fraction or use finer groups',
    );
  }
  return { train: train.sort((a, b) => a - b), validation: validation.sort((a, b) => a - b) };
}
