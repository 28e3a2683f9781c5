import type { IndexPair, PairSampler } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import type { RandomSource } from '../../core/contracts/random.js';

/** All N·(N−1)/2 pairs (i < j), produced one at a time: never materialised. */
export function* allPairs(labels: readonly (string | number)[]): Generator<IndexPair, void> {
  for (let a = 0; a < labels.length; a++) {
    for (let b = a + 1; b < labels.length; b++) yield { a, b, target: labels[a] === labels[b] ? 1 : 0 };
  }
}

/**
 * Balanced pairs: for each item (in a shuffled order) one positive partner (another item of its
 * class, when it has one) and one negative partner (an item of another class), lazily.
 */
export function* balancedPairs(labels: readonly (string | number)[], random: RandomSource): Generator<IndexPair, void> {
  const byLabel = new Map<string | number, number[]>();
  labels.forEach((label, index) => {
    const members = byLabel.get(label);
    if (members) members.push(index);
    else byLabel.set(label, [index]);
  });
  for (const a of random.shuffle([...labels.keys()])) {
    const same = byLabel.get(labels[a]!)!;
    if (same.length > 1) {
      let b = same[random.int(same.length - 1)]!;
      if (b === a) b = same[same.length - 1]!;
      yield { a, b, target: 1 };
    }
    if (same.length < labels.length) {
      let b = random.int(labels.length);
      while (labels[b] === labels[a]) b = random.int(labels.length);
      yield { a, b, target: 0 };
    }
  }
}

export const allPairsSampler: Registration<PairSampler, Record<string, never>> = {
  name: 'all-pairs',
  description: 'every pair once (N·(N−1)/2), streamed lazily',
  defaults: {},
  create: () => ({ kind: 'pairs', pairs: (labels) => allPairs(labels) }),
};

export const balancedPairsSampler: Registration<PairSampler, Record<string, never>> = {
  name: 'balanced-pairs',
  description: 'one positive and one negative partner per item each epoch, streamed lazily',
  defaults: {},
  create: () => ({ kind: 'pairs', pairs: (labels, random) => balancedPairs(labels, random) }),
};
