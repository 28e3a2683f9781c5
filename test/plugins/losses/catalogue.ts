import { Simkit } from '../../../core/di/container.js';

/**
 * The losses that the catalogue tests leave out, each with where it is tested instead. Every other
 * registered loss is in the catalogue, so a new loss is tested there unless it is listed here.
 */
export const NOT_IN_CATALOGUE: Readonly<Record<string, string>> = {
  contrastive: 'the original pair loss: float64 loops in losses.test.ts',
  triplet: 'the original triplet loss: float64 loops and each miner in losses.test.ts',
  hinge: 'losses.test.ts',
  margin: 'learnable β: losses.test.ts',
  'cross-entropy': 'a head loss: the heads tests and every pipeline run',
  'binary-cross-entropy': 'a head loss: losses.test.ts',
  logistic: 'a head loss: losses.test.ts',
  focal: 'a head loss: losses.test.ts',
  'nt-xent': 'trains on two views, not labels: losses.test.ts and the SimCLR pipeline run',
  'siamese-concat': 'trains on pairs: losses.test.ts',
  'siamese-difference': 'trains on pairs: losses.test.ts and the siamese pipeline run',
  'siamese-cosine': 'trains on pairs: losses.test.ts',
  'cross-batch-memory': 'wraps another loss: losses.test.ts',
};

/** Every registered loss but those NOT_IN_CATALOGUE lists, sorted by name. */
export async function catalogueLosses(): Promise<string[]> {
  const names = (await Simkit.create()).registry('Loss').names();
  return names.filter((name) => !(name in NOT_IN_CATALOGUE));
}
