import type { BatchSampler, IndexBatch } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';
import type { RandomSource } from '../../core/contracts/random.js';

export interface PkOptions {
  /** P: classes per batch. */
  readonly classesPerBatch: number;
  /** K: samples of each class per batch. */
  readonly samplesPerClass: number;
}

export const PK_DEFAULTS: PkOptions = { classesPerBatch: 16, samplesPerClass: 4 };

/** K samples of one class going into one batch. */
interface Visit {
  readonly label: string | number;
  readonly indices: number[];
  readonly repeated: boolean[];
}

/** A class's samples in a shuffled order, K per visit; the last visit is filled up with repeats. */
function classVisits(label: string | number, members: number[], k: number, random: RandomSource): Visit[] {
  const order = random.shuffle([...members]);
  const visits: Visit[] = [];
  for (let start = 0; start < order.length; start += k) {
    const indices = order.slice(start, start + k);
    const repeated = indices.map(() => false);
    while (indices.length < k) {
      indices.push(order[random.int(order.length)]!);
      repeated.push(true);
    }
    visits.push({ label, indices, repeated });
  }
  return visits;
}

/**
 * P×K batches over one epoch. Every sample appears once; a class whose count is not a multiple of
 * K fills its last group of K with repeats of its own samples (flagged `repeated`, so the data
 * pipeline augments them), so classes with fewer than K samples are kept, never dropped. Visits
 * are dealt in rounds (every class's first K, then every second K, …), shuffled within a round, and
 * a batch takes the next P visits of distinct classes; it holds a class twice only when too few
 * classes are left at the end of the epoch.
 */
export function pkEpoch(labels: readonly (string | number)[], options: PkOptions, random: RandomSource): IndexBatch[] {
  const { classesPerBatch: p, samplesPerClass: k } = options;
  if (!Number.isInteger(p) || p < 1 || !Number.isInteger(k) || k < 1) {
    throw new UserError(
      `P×K sampler: classesPerBatch and samplesPerClass must be whole numbers ≥ 1, got ${p} and ${k}`,
    );
  }
  const byClass = new Map<string | number, number[]>();
  labels.forEach((label, index) => {
    const members = byClass.get(label);
    if (members) members.push(index);
    else byClass.set(label, [index]);
  });
  const rounds: Visit[][] = [];
  for (const [label, members] of byClass) {
    classVisits(label, members, k, random).forEach((visit, round) => (rounds[round] ??= []).push(visit));
  }
  const queue = rounds.flatMap((round) => random.shuffle(round));
  const batches: IndexBatch[] = [];
  let deferred: Visit[] = [];
  let next = 0;
  while (next < queue.length || deferred.length > 0) {
    const group: Visit[] = [];
    const classes = new Set<string | number>();
    const skipped: Visit[] = [];
    const offer = (visit: Visit) => {
      if (group.length < p && !classes.has(visit.label)) {
        classes.add(visit.label);
        group.push(visit);
      } else skipped.push(visit);
    };
    deferred.forEach(offer);
    while (group.length < p && next < queue.length) offer(queue[next++]!);
    if (next === queue.length) group.push(...skipped.splice(0, p - group.length));
    deferred = skipped;
    batches.push({ indices: group.flatMap((v) => v.indices), repeated: group.flatMap((v) => v.repeated) });
  }
  return batches;
}

export const pk: Registration<BatchSampler, PkOptions> = {
  name: 'pk',
  description:
    'P classes × K samples per batch; every sample each epoch; small classes repeated (flagged for augmentation), not dropped',
  defaults: PK_DEFAULTS,
  ranges: { classesPerBatch: { integer: true, min: 1 }, samplesPerClass: { integer: true, min: 1 } },
  create: (options: PkOptions) => ({
    kind: 'batches',
    largestBatch: options.classesPerBatch * options.samplesPerClass,
    epoch: (labels, random) => pkEpoch(labels, options, random),
  }),
};
