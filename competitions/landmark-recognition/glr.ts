import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Item } from '../../core/contracts/competition.js';
import { dataPath, readCsv, requireField } from '../../core/competition/adapter.js';
import { writeCsvAtomic } from '../../core/data/csv.js';
import { InputError } from '../../core/errors.js';

/** Google Landmarks' nested layout: `<folder>/{id[0]}/{id[1]}/{id[2]}/{id}.jpg`. */
export function glrPath(folder: string, id: string): string {
  return join(folder, id[0]!, id[1]!, id[2]!, `${id}.jpg`);
}

/**
 * How an edition of Google Landmarks lays out its files. 2019-2021 ship the images in nested trees and list only
 * train in a CSV; 2018 shipped CSVs of `id,url` (train, test, index) and the participants downloaded each image
 * themselves, here into `<folder>/<id>.jpg`.
 */
export interface GlrLayout {
  /** Where the image `id` of a set (`train`, `test`, `index`, `distractors`) lies, relative to the data directory. */
  imagePath(folder: string, id: string): string;
  /** Every set is a `<set>.csv` of `id,url` (train with `landmark_id` too), as in 2018. */
  readonly urlTables: boolean;
}

/** Which edition of a Google Landmarks competition an adapter serves: Kaggle slug, simkit name, title, file layout. */
export interface GlrEdition {
  readonly slug: string;
  readonly alias: string;
  readonly title: string;
  readonly layout: GlrLayout;
}

/** 2019-2021: nested image trees, `train.csv` as `id,landmark_id`. */
export const GLR_LAYOUT: GlrLayout = { imagePath: glrPath, urlTables: false };

/** 2018: `train.csv` as `id,url,landmark_id`, `test.csv` and `index.csv` as `id,url`, images downloaded by id. */
export const GLR_2018_LAYOUT: GlrLayout = { imagePath: (folder, id) => join(folder, `${id}.jpg`), urlTables: true };

/** Ids shown in a missing-images error before the rest are counted. */
const MISSING_IDS_SHOWN = 20;

/**
 * Refuses a 2018 table whose rows' images are not all in place: the user downloads them from the `url`
 * column, so a missing file is an unfinished download, and the error lists the ids to fetch.
 */
function requireDownloaded(path: string, folder: string, items: readonly Item[]): void {
  const missing = items.filter((item) => !existsSync(item.imagePath!)).map((item) => item.id);
  if (missing.length === 0) return;
  const shown = missing.slice(0, MISSING_IDS_SHOWN).join(' ');
  const more = missing.length > MISSING_IDS_SHOWN ? ` and ${missing.length - MISSING_IDS_SHOWN} more` : '';
  throw new InputError(
    path,
    undefined,
    'id',
    `${missing.length} of ${items.length} rows have no image at ${folder}/<id>.jpg; download each from its url: ${shown}${more}`,
  );
}

/** The rows of `<dataDir>/<file>` as items whose image is `layout.imagePath(folder, id)`; `label` names the class. */
async function readGlrTable(
  dataDir: string,
  layout: GlrLayout,
  file: string,
  folder: string,
  label?: string,
): Promise<Item[]> {
  const path = join(dataDir, file);
  const columns = ['id', ...(layout.urlTables ? ['url'] : []), ...(label ? [label] : [])];
  const items = (await readCsv(path, columns)).map(({ line, record }): Item => {
    const id = requireField(path, line, record, 'id');
    if (id.length < 3)
      throw new InputError(path, line, 'id', `expected a hex image id of at least 3 characters, got "${id}"`);
    if (layout.urlTables) requireField(path, line, record, 'url');
    return {
      id,
      labels: label ? [requireField(path, line, record, label)] : [],
      imagePath: dataPath(dataDir, { file: path, line, field: 'id' }, layout.imagePath(folder, id)),
      extra: record,
    };
  });
  if (layout.urlTables) requireDownloaded(path, join(dataDir, folder), items);
  return items;
}

/** train.csv (`id,landmark_id`; 2018: `id,url,landmark_id`) with images under train/. */
export function readGlrTrain(dataDir: string, layout: GlrLayout = GLR_LAYOUT): Promise<Item[]> {
  return readGlrTable(dataDir, layout, 'train.csv', 'train', 'landmark_id');
}

/**
 * The unlabelled set `folder` (test, index): 2018 lists it in `<folder>.csv`, later editions ship only the image
 * tree.
 */
export function readGlrSet(dataDir: string, folder: string, layout: GlrLayout = GLR_LAYOUT): Promise<Item[]> {
  return layout.urlTables ? readGlrTable(dataDir, layout, `${folder}.csv`, folder) : readGlrTree(join(dataDir, folder));
}

/** Every `*.jpg` below a nested image tree, as unlabelled items whose id is the file name without extension. */
export async function readGlrTree(folder: string): Promise<Item[]> {
  let entries;
  try {
    entries = await readdir(folder, { recursive: true, withFileTypes: true });
  } catch {
    throw new InputError(folder, undefined, undefined, 'image folder not found');
  }
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.jpg'))
    .map((entry) => ({
      id: entry.name.slice(0, -4),
      labels: [],
      imagePath: join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name),
      extra: {},
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Where a generated sample says its images came from (the 2018 `url` column): a reserved example domain. */
export function sampleUrl(id: string): string {
  return `https://example.org/simkit-sample/${id}.jpg`;
}

/**
 * A generated sample's tables in `layout`: train.csv always; for 2018, test.csv and (for retrieval) index.csv, each
 * row with the url its image would be downloaded from.
 */
export async function writeGlrTables(
  dir: string,
  layout: GlrLayout,
  sets: { train: readonly (readonly [string, string])[]; test: readonly string[]; index?: readonly string[] },
): Promise<void> {
  const train = sets.train.map(([id, landmark]) => (layout.urlTables ? [id, sampleUrl(id), landmark] : [id, landmark]));
  await writeCsvAtomic(
    join(dir, 'train.csv'),
    layout.urlTables ? ['id', 'url', 'landmark_id'] : ['id', 'landmark_id'],
    train,
  );
  if (!layout.urlTables) return;
  const unlabelled: [string, readonly string[]][] = [
    ['test', sets.test],
    ...(sets.index ? [['index', sets.index] as [string, readonly string[]]] : []),
  ];
  for (const [name, ids] of unlabelled)
    await writeCsvAtomic(
      join(dir, `${name}.csv`),
      ['id', 'url'],
      ids.map((id) => [id, sampleUrl(id)]),
    );
}
