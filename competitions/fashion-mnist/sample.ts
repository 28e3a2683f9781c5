import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Random } from '../../core/random.js';
import { readSplit, subset, SYSTEM_DATA_DIR, writeSplit, type Split, type SplitName } from './dataset.js';

/**
 * The embedded sample: class-balanced subsets of the real Fashion-MNIST train and test sets, in the
 * original IDX layout, committed under `competitions/fashion-mnist/sample/` so that tests and
 * `simkit run fashion-mnist` without `--data` work without the Debian package. Regenerate with
 * `npx tsx competitions/fashion-mnist/sample.ts` (reads `$DATA` or the Debian package).
 */
export const SAMPLE_SIZES: Readonly<Record<SplitName, number>> = { train: 2000, test: 500 };
const SAMPLE_SEED = 0;

const here = dirname(fileURLToPath(import.meta.url));
/** Next to this file when run from source; from dist/competitions/fashion-mnist, back at the repository's copy. */
export const EMBEDDED_SAMPLE_DIR =
  [join(here, 'sample'), resolve(here, '..', '..', '..', 'competitions', 'fashion-mnist', 'sample')].find((dir) =>
    existsSync(dir),
  ) ?? join(here, 'sample');

/** Indices of `count / classes` random items of each label, in file order. */
export function balancedIndices(labels: Uint8Array, count: number, random: Random): number[] {
  const byLabel = new Map<number, number[]>();
  labels.forEach((label, i) => {
    const members = byLabel.get(label) ?? [];
    members.push(i);
    byLabel.set(label, members);
  });
  const perClass = Math.floor(count / byLabel.size);
  const picked: number[] = [];
  for (const members of byLabel.values()) {
    for (let i = 0; i < Math.min(perClass, members.length); i++) {
      const j = i + random.int(members.length - i);
      [members[i], members[j]] = [members[j]!, members[i]!];
      picked.push(members[i]!);
    }
  }
  return picked.sort((a, b) => a - b);
}

export async function writeEmbeddedSample(source: string, target: string): Promise<void> {
  const random = new Random(SAMPLE_SEED);
  for (const split of ['train', 'test'] as const) {
    const data: Split = await readSplit(source, split);
    await writeSplit(target, split, subset(data, balancedIndices(data.labels, SAMPLE_SIZES[split], random)));
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await writeEmbeddedSample(process.env.DATA ?? SYSTEM_DATA_DIR, join(here, 'sample'));
}
