import type { BatchSampler, IndexBatch } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import type { Random } from '../../core/random.js';

export interface PkOptions {
  /** P: classes per batch. */
  readonly classesPerBatch: number;
  /** K: samples of each class per batch. */
  readonly samplesPerClass: number;
}

/**
 * P×K batches: every class appears in each epoch (classes in a shuffled order, P per batch), with K
 * samples each. A class with fewer than K samples repeats some of them, flagged `repeated` so the
 * data pipeline augments them; a class with more contributes K new ones per visit until it runs out.
 */
export function pkEpoch(labels: readonly (string | number)[], options: PkOptions, random: Random): IndexBatch[] {
  const byClass = new Map<string | number, number[]>();
  labels.forEach((label, index) => byClass.set(label, [...(byClass.get(label) ?? []), index]));
  const visits: { indices: number[]; repeated: boolean[] }[] = [];
  for (const members of byClass.values()) {
    const order = random.shuffle([...members]);
    for (let start = 0; start < order.length; start += options.samplesPerClass) {
      const indices = order.slice(start, start + options.samplesPerClass);
      const repeated = indices.map(() => false);
      while (indices.length < options.samplesPerClass) {
        indices.push(order[random.int(order.length)]!);
        repeated.push(true);
      }
      visits.push({ indices, repeated });
      if (order.length < options.samplesPerClass) break;
    }
  }
  random.shuffle(visits);
  const batches: IndexBatch[] = [];
  for (let start = 0; start < visits.length; start += options.classesPerBatch) {
    const group = visits.slice(start, start + options.classesPerBatch);
    batches.push({ indices: group.flatMap((v) => v.indices), repeated: group.flatMap((v) => v.repeated) });
  }
  return batches;
}

export const pk: Registration<BatchSampler, PkOptions> = {
  name: 'pk',
  description: 'P classes × K samples per batch; every class each epoch; small classes repeated (augmented), not dropped',
  defaults: { classesPerBatch: 16, samplesPerClass: 4 },
  create: (options) => {
    const resolved = { classesPerBatch: 16, samplesPerClass: 4, ...options };
    return { kind: 'batches', epoch: (labels, random) => pkEpoch(labels, resolved, random) };
  },
};
