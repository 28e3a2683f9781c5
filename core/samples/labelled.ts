import { join } from 'node:path';
import type { Random } from '../random.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { motif, renderMotif } from './render.js';

/** One picture to render: `motifIndex` decides what it shows, `path` where it goes (relative to the sample dir). */
export interface SamplePicture {
  readonly path: string;
  readonly motifIndex: number;
}

/** Renders pictures of motifs (core/samples/render.ts) into `dir`, deterministically for `random`. */
export async function renderPictures(
  dir: string,
  pictures: readonly SamplePicture[],
  random: Random,
  size = 64,
): Promise<void> {
  for (const picture of pictures) {
    await writeFileAtomic(
      join(dir, picture.path),
      await renderMotif(motif(picture.motifIndex), random, size, { jpeg: !picture.path.endsWith('.png') }),
    );
  }
}

/** A hex id of `length` characters, like Kaggle's image ids. */
export function hexId(random: Random, length = 16): string {
  return Array.from({ length }, () => '0123456789abcdef'[random.int(16)]).join('');
}

/** Class sizes for a sample: between `min` and `max` images per class. */
export function classSizes(random: Random, classes: number, min: number, max: number): number[] {
  return Array.from({ length: classes }, () => min + random.int(max - min + 1));
}
