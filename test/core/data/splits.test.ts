import { describe, expect, it } from 'vitest';
import { groupHoldout, groupKFold, type Fold } from '../../../core/data/splits.js';
import { UserError } from '../../../core/errors.js';
import { Random } from '../../../core/random.js';

interface Posting {
  readonly id: string;
  readonly group: string;
  readonly chain: string;
}

/** Shopee-like data: groups of 2 to 12 items; each group belongs to one of 4 chains of unequal size. */
function postings(groups: number, seed: number): Posting[] {
  const random = new Random(seed);
  const items: Posting[] = [];
  for (let g = 0; g < groups; g++) {
    const size = 2 + Math.floor(random.next() ** 3 * 11);
    const chain = `c${[0, 0, 0, 0, 1, 1, 1, 2, 2, 3][random.int(10)]}`;
    for (let i = 0; i < size; i++) items.push({ id: `p${items.length}`, group: `g${g}`, chain });
  }
  return random.shuffle(items);
}

function expectGroupsIntact(items: readonly Posting[], fold: Fold): void {
  const trainGroups = new Set(fold.train.map((i) => items[i]!.group));
  for (const i of fold.validation) expect(trainGroups.has(items[i]!.group)).toBe(false);
  expect([...fold.train, ...fold.validation].sort((a, b) => a - b)).toEqual(items.map((_, i) => i));
}

const byGroup = (item: Posting) => item.group;
const byChain = (item: Posting) => item.chain;

describe('groupKFold', () => {
  const items = postings(300, 1);

  it('never splits a group, covers every item once, and balances fold sizes', () => {
    const folds = groupKFold(items, { folds: 5, group: byGroup, seed: 3 });
    expect(folds).toHaveLength(5);
    folds.forEach((fold) => expectGroupsIntact(items, fold));
    const validation = folds.flatMap((fold) => fold.validation).sort((a, b) => a - b);
    expect(validation).toEqual(items.map((_, i) => i));
    const sizes = folds.map((fold) => fold.validation.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(12); // at most about one (largest) group
  });

  it('repeats for a seed and changes with it', () => {
    const a = groupKFold(items, { folds: 4, group: byGroup, seed: 9 });
    expect(groupKFold(items, { folds: 4, group: byGroup, seed: 9 })).toEqual(a);
    expect(groupKFold(items, { folds: 4, group: byGroup, seed: 10 })).not.toEqual(a);
  });

  it('stratified: spreads each label more evenly over the folds than plain group folds', () => {
    const spread = (folds: Fold[]) => {
      let worst = 0;
      for (const chain of ['c0', 'c1', 'c2', 'c3']) {
        const total = items.filter((item) => item.chain === chain).length;
        const shares = folds.map((fold) => fold.validation.filter((i) => items[i]!.chain === chain).length / total);
        worst = Math.max(worst, Math.max(...shares) - Math.min(...shares));
      }
      return worst;
    };
    const plain: number[] = [];
    const stratified: number[] = [];
    for (let seed = 0; seed < 5; seed++) {
      plain.push(spread(groupKFold(items, { folds: 5, group: byGroup, seed })));
      const folds = groupKFold(items, { folds: 5, group: byGroup, stratify: byChain, seed });
      folds.forEach((fold) => expectGroupsIntact(items, fold));
      stratified.push(spread(folds));
    }
    const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
    expect(mean(stratified)).toBeLessThan(mean(plain));
    expect(Math.max(...stratified)).toBeLessThan(0.1);
  });

  it('refuses more folds than groups', () => {
    const few = items.filter((item) => item.group === 'g0' || item.group === 'g1');
    expect(() => groupKFold(few, { folds: 3, group: byGroup })).toThrow(UserError);
    expect(() => groupKFold(items, { folds: 1, group: byGroup })).toThrow(/at least 2/);
  });
});

describe('groupHoldout', () => {
  const items = postings(400, 2);

  it('holds out about the fraction in whole groups, repeatably', () => {
    for (const fraction of [0.1, 0.2, 0.5]) {
      const split = groupHoldout(items, { fraction, group: byGroup, seed: 5 });
      expectGroupsIntact(items, split);
      expect(Math.abs(split.validation.length - fraction * items.length)).toBeLessThanOrEqual(0.01 * items.length);
      expect(groupHoldout(items, { fraction, group: byGroup, seed: 5 })).toEqual(split);
    }
    expect(groupHoldout(items, { fraction: 0.2, group: byGroup, seed: 6 })).not.toEqual(
      groupHoldout(items, { fraction: 0.2, group: byGroup, seed: 5 }),
    );
  });

  it('refuses fractions it cannot honour', () => {
    expect(() => groupHoldout(items, { fraction: 0, group: byGroup })).toThrow(UserError);
    const oneGroup = items.map((item) => ({ ...item, group: 'same' }));
    expect(() => groupHoldout(oneGroup, { fraction: 0.2, group: byGroup })).toThrow(/whole groups/);
  });
});
