import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Competition } from '../contracts/competition.js';
import { replaceDirectoryAtomic } from '../io/atomic-write.js';
import { log } from '../log.js';

/** What made a generated sample: a sample is reused only when this matches. */
export const SAMPLE_STAMP_FILE = '.sample.json';

interface SampleStamp {
  readonly competition: string;
  readonly seed: number;
  /** The generator's own text: a changed generator makes a different sample. */
  readonly generator: string;
}

function stampOf(competition: Competition, seed: number): SampleStamp {
  return { competition: competition.slug, seed, generator: competition.generateSample.toString() };
}

function sameStamp(dir: string, expected: SampleStamp): boolean {
  try {
    const stamp = JSON.parse(readFileSync(join(dir, SAMPLE_STAMP_FILE), 'utf8')) as SampleStamp;
    return (
      stamp.competition === expected.competition &&
      stamp.seed === expected.seed &&
      stamp.generator === expected.generator
    );
  } catch {
    return false;
  }
}

/**
 * The competition's embedded sample in `dir`: reused when the same competition, seed and generator
 * made it, otherwise generated into a fresh folder that replaces `dir` whole (never on top of an
 * earlier sample, whose files would mix with the new ones).
 */
export async function embeddedSample(competition: Competition, dir: string, seed: number): Promise<void> {
  const stamp = stampOf(competition, seed);
  if (sameStamp(dir, stamp)) {
    log.info(`[${competition.slug}] reusing the embedded sample in ${dir} (seed ${seed})`);
    return;
  }
  log.info(
    `[${competition.slug}] generating the embedded sample in ${dir}${existsSync(dir) ? ' (replacing the earlier one)' : ''}`,
  );
  await replaceDirectoryAtomic(dir, async (fresh) => {
    await competition.generateSample(fresh, seed);
    await writeFile(join(fresh, SAMPLE_STAMP_FILE), JSON.stringify(stamp));
  });
}
