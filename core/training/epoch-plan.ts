import type { BatchKind, Sampler } from '../contracts/loss.js';
import { UserError } from '../errors.js';
import type { Random } from '../random.js';

/** One epoch's batches as dataset positions; pair batches carry a target per pair. */
export interface EpochPlan {
  readonly batches: number[][];
  readonly targets?: number[][];
}

function shuffledBatches(count: number, batchSize: number, random: Random): number[][] {
  const order = random.shuffle([...Array(count).keys()]);
  const batches: number[][] = [];
  for (let start = 0; start + batchSize <= count || (start < count && batches.length === 0); start += batchSize) {
    batches.push(order.slice(start, start + batchSize));
  }
  return batches;
}

/** The pair sampler's pairs, `batchSize` at a time, as [a₁…a_B, b₁…b_B] with the pairs' targets. */
function pairPlanner(sampler: Sampler | undefined, labels: readonly number[], batchSize: number) {
  if (sampler?.kind !== 'pairs') {
    throw new UserError(
      'this objective trains on pairs, which a batch sampler does not make',
      'choose a pair sampler: balanced-pairs or all-pairs (`simkit list samplers`)',
    );
  }
  return (random: Random): EpochPlan => {
    const batches: number[][] = [];
    const targets: number[][] = [];
    let chunk: { a: number; b: number; target: number }[] = [];
    const flush = () => {
      batches.push([...chunk.map((pair) => pair.a), ...chunk.map((pair) => pair.b)]);
      targets.push(chunk.map((pair) => pair.target));
      chunk = [];
    };
    for (const pair of sampler.pairs(labels, random)) {
      chunk.push(pair);
      if (chunk.length === batchSize) flush();
    }
    if (chunk.length > 0) flush();
    return { batches, targets };
  };
}

/**
 * How an epoch is drawn for the objective's batch kind. Labels: the sampler's batches, or shuffled
 * ones. Views: each shuffled (or sampled) batch of B items twice over, [x₁…x_B, x₁…x_B], so that
 * the data source augments every position differently (two views). Pairs: the pair sampler's pairs,
 * B at a time, as [a₁…a_B, b₁…b_B].
 */
export function epochPlanner(
  kind: BatchKind,
  labels: readonly number[],
  options: { readonly sampler?: Sampler; readonly batchSize: number },
): (random: Random) => EpochPlan {
  const { sampler, batchSize } = options;
  if (kind === 'pairs') return pairPlanner(sampler, labels, batchSize);
  if (sampler?.kind === 'pairs')
    throw new UserError(
      `sampler yields pairs, but this objective trains on ${kind === 'views' ? 'two views per item' : 'labelled batches'}`,
      'choose a batch sampler (pk) or none',
    );
  const items = (random: Random) =>
    sampler
      ? sampler.epoch(labels, random).map((batch) => batch.indices)
      : shuffledBatches(labels.length, batchSize, random);
  if (kind === 'views') return (random) => ({ batches: items(random).map((batch) => [...batch, ...batch]) });
  return (random) => ({ batches: items(random) });
}
