import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Item, TestSet } from '../contracts/competition.js';
import { rowOrigin } from '../competition/adapter.js';
import { unusableImages } from '../data/image-probe.js';
import { InputError, UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { log } from '../log.js';

/** Share of a set's images that may be missing before a run is refused (`--max-bad-images`). */
export const DEFAULT_MAX_BAD_IMAGES = 0.1;

/** Where missing images are listed, one per line, in the run directory. */
export const MISSING_IMAGES_FILE = 'missing-images.txt';

function imageFiles(item: Item): string[] {
  return item.channelPaths ? [...item.channelPaths] : item.imagePath ? [item.imagePath] : [];
}

/** Refuses an empty set, naming the file it came from. */
function requireItems(items: readonly Item[], what: string, dataDir: string): void {
  if (items.length > 0) return;
  throw new InputError(
    dataDir,
    undefined,
    undefined,
    `no ${what} items: the file or folder they come from is empty (or has only a header)`,
  );
}

/** Refuses an id given twice within one set, naming both lines where the rows carry them. */
function requireUniqueIds(items: readonly Item[], what: string, idColumn: string, dataDir: string): void {
  const first = new Map<string, Item>();
  for (const item of items) {
    const earlier = first.get(item.id);
    if (earlier === undefined) {
      first.set(item.id, item);
      continue;
    }
    const origin = rowOrigin(item.extra);
    const earlierLine = rowOrigin(earlier.extra)?.line;
    throw new InputError(
      origin?.file ?? dataDir,
      origin?.line,
      idColumn,
      `${what} id "${item.id}" appears again${earlierLine === undefined ? '' : ` (first on line ${earlierLine})`}: ids must be unique`,
    );
  }
}

/**
 * Checks that the images of a set exist and can be read before any training: more than `maxBad` of
 * them missing or unreadable fails the run (exit 1) naming the folder; fewer are summarised in one
 * line and listed in the run directory's missing-images.txt.
 */
async function checkImages(items: readonly Item[], what: string, maxBad: number, runDir: string): Promise<string[]> {
  // Rows may share an image (Shopee's duplicate listings): each file counts once.
  const files = [...new Set(items.flatMap(imageFiles))];
  if (files.length === 0) return [];
  const { missing, unreadable } = await unusableImages(files);
  const bad = [...missing, ...unreadable];
  if (bad.length === 0) return [];
  const share = bad.length / files.length;
  const folder = dirname(bad[0]!);
  const state =
    unreadable.length === 0
      ? 'are missing'
      : `are missing or unreadable (${missing.length} missing, ${unreadable.length} not readable as images)`;
  const summary = `${bad.length} of ${files.length} ${what} image files (${(share * 100).toFixed(1)} %) ${state} (first: ${bad[0]})`;
  if (share > maxBad) {
    const hint = existsSync(folder)
      ? `put readable images in place, or allow more with --max-bad-images (now ${maxBad})`
      : `the folder ${folder} does not exist: check the data directory's layout`;
    throw new UserError(summary, hint, 1);
  }
  log.warn(`${summary}; they are left out (list in ${join(runDir, MISSING_IMAGES_FILE)})`);
  return bad;
}

export interface RunData {
  readonly dataDir: string;
  readonly runDir: string;
  readonly idColumn: string;
  readonly train: readonly Item[];
  readonly test: TestSet;
  /** Default DEFAULT_MAX_BAD_IMAGES. */
  readonly maxBadImages?: number;
}

/**
 * Everything about the data that would otherwise fail after training: empty sets, repeated ids,
 * missing images. Returns the items whose images all exist (the others are left out).
 */
export async function checkRunData(data: RunData): Promise<{ train: Item[]; test: TestSet }> {
  const { dataDir, runDir, idColumn, train, test } = data;
  const maxBad = data.maxBadImages ?? DEFAULT_MAX_BAD_IMAGES;
  const sets: [string, readonly Item[]][] = [
    ['train', train],
    ['test', test.queries],
    ...(test.index ? [['index', test.index] as [string, readonly Item[]]] : []),
  ];
  for (const [what, items] of sets) {
    requireItems(items, what, dataDir);
    requireUniqueIds(items, what, idColumn, dataDir);
  }
  const missing = new Set<string>();
  for (const [what, items] of sets)
    for (const file of await checkImages(items, what, maxBad, runDir)) missing.add(file);
  if (missing.size === 0) return { train: [...train], test };
  await writeFileAtomic(join(runDir, MISSING_IMAGES_FILE), `${[...missing].join('\n')}\n`);
  const present = (item: Item) => imageFiles(item).every((file) => !missing.has(file));
  // Test queries stay: each needs a row in the submission (an unreadable image embeds as a blank one).
  return {
    train: train.filter(present),
    test: { ...test, ...(test.index ? { index: test.index.filter(present) } : {}) },
  };
}
