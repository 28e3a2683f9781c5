import { describe, expect, it } from 'vitest';
import type { IndexBatch } from '../../../core/contracts/loss.js';
import { Random } from '../../../core/random.js';
import { allPairs, balancedPairs } from '../../../plugins/samplers/pairs.js';
import type { IndexPair } from '../../../core/contracts/loss.js';
import { pkEpoch } from '../../../plugins/samplers/pk.js';

/** Class sizes 1, 2, …, 9 and two of 12: some below K, some not a multiple of K. */
const LABELS = [
  ...Array.from({ length: 9 }, (_, c) => Array<string>(c + 1).fill(`c${c}`)).flat(),
  ...Array<string>(12).fill('big'),
  ...Array<string>(12).fill('other'),
];
const [P, K] = [3, 4];

function entries(batches: IndexBatch[]) {
  return batches.flatMap((b) => b.indices.map((index, i) => ({ index, repeated: b.repeated[i]! })));
}

describe('P×K sampler', () => {
  const batches = pkEpoch(LABELS, { classesPerBatch: P, samplesPerClass: K }, new Random(4));

  it('every sample appears exactly once unflagged; repeats only fill a class up to a multiple of K, from its own samples', () => {
    const all = entries(batches);
    const originals = all
      .filter((e) => !e.repeated)
      .map((e) => e.index)
      .sort((a, b) => a - b);
    expect(originals).toEqual([...LABELS.keys()]);
    const counts = new Map<string, number>();
    for (const label of LABELS) counts.set(label, (counts.get(label) ?? 0) + 1);
    for (const [label, n] of counts) {
      const ofClass = all.filter((e) => LABELS[e.index] === label);
      expect(ofClass.length, label).toBe(Math.ceil(n / K) * K);
    }
    // A class of one sample: that sample, then K − 1 flagged repeats of it.
    const single = LABELS.indexOf('c0');
    expect(
      all
        .filter((e) => e.index === single)
        .map((e) => e.repeated)
        .sort(),
    ).toEqual([false, true, true, true]);
  });

  it('batches hold P classes × K samples, a class at most once while enough classes are left', () => {
    for (const batch of batches.slice(0, -2)) {
      expect(batch.indices.length).toBe(P * K);
      const perClass = new Map<string, number>();
      for (const i of batch.indices) perClass.set(LABELS[i]!, (perClass.get(LABELS[i]!) ?? 0) + 1);
      expect([...perClass.values()]).toEqual([K, K, K]);
    }
    for (const batch of batches) expect(batch.indices.length % K).toBe(0);
  });

  it('is reproducible for a seed and differs across seeds', () => {
    expect(pkEpoch(LABELS, { classesPerBatch: P, samplesPerClass: K }, new Random(4))).toEqual(batches);
    expect(pkEpoch(LABELS, { classesPerBatch: P, samplesPerClass: K }, new Random(5))).not.toEqual(batches);
  });

  it('refuses K or P below one', () => {
    expect(() => pkEpoch(LABELS, { classesPerBatch: P, samplesPerClass: 0 }, new Random(1))).toThrow(/whole numbers/);
  });
});

describe('pair generation', () => {
  it('streams all N·(N−1)/2 pairs lazily', () => {
    const labels = ['a', 'a', 'b', 'c', 'b'];
    const generator = allPairs(labels);
    expect(generator.next().value).toEqual({ a: 0, b: 1, target: 1 });
    const pairs = [...allPairs(labels)];
    expect(pairs.length).toBe(10);
    expect(new Set(pairs.map((p) => `${p.a},${p.b}`)).size).toBe(10);
    expect(pairs.filter((p) => p.target === 1).map((p) => [p.a, p.b])).toEqual([
      [0, 1],
      [2, 4],
    ]);
    // Lazy: the first pair of a million-item stream comes without building the 5·10¹¹ others.
    const huge = allPairs(Array.from({ length: 1_000_000 }, (_, i) => i % 7));
    expect(huge.next().value).toEqual({ a: 0, b: 1, target: 0 });
  });

  it('balanced pairs: one positive (when the class has a partner) and one negative per item, reproducible', () => {
    const labels = ['a', 'a', 'b', 'c', 'b'];
    const balanced = [...balancedPairs(labels, new Random(2))];
    expect(balanced.filter((p) => p.target === 1).length).toBe(4); // c has no partner
    expect(balanced.filter((p) => p.target === 0).length).toBe(5);
    for (const p of balanced) {
      expect(p.a).not.toBe(p.b);
      expect(labels[p.a] === labels[p.b]).toBe(p.target === 1);
    }
    expect([...balancedPairs(labels, new Random(2))]).toEqual(balanced);
    // Grouping by label is linear: the first pairs of 300,000 items in three classes come at once.
    const big = balancedPairs(
      Array.from({ length: 300_000 }, (_, i) => i % 3),
      new Random(3),
    );
    const first = big.next().value as IndexPair;
    expect(first.a % 3 === first.b % 3).toBe(first.target === 1);
  });
});
