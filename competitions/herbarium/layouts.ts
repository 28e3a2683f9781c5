import { existsSync, type Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Item } from '../../core/contracts/competition.js';
import { dataPath } from '../../core/competition/adapter.js';
import { readJson } from '../../core/data/table.js';
import { InputError } from '../../core/errors.js';

export type HerbariumYear = 2019 | 2020 | 2021 | 2022;

/**
 * Where each edition keeps its metadata and images:
 * - 2019: no metadata; `train/<category>/<id>.jpg` and `validation/<category>/<id>.jpg` (ids repeat
 *   across categories), `test/<id>.jpg`.
 * - 2020, 2021: COCO `train/metadata.json`, `test/metadata.json`, `file_name` relative to that
 *   folder; the 2020 files are not UTF-8 and are read as latin-1.
 * - 2022: `train_metadata.json` (images keyed `image_id`) with `train_images/`, and
 *   `test_metadata.json` (a list of images, or COCO `images`) with `test_images/`.
 */
export interface CocoLayout {
  readonly metadata: string;
  readonly imageRoot: string;
}

export function cocoLayout(year: Exclude<HerbariumYear, 2019>, split: 'train' | 'test'): CocoLayout {
  return year === 2022
    ? { metadata: `${split}_metadata.json`, imageRoot: `${split}_images` }
    : { metadata: join(split, 'metadata.json'), imageRoot: split };
}

type Id = number | string;
interface CocoImage {
  readonly id?: Id;
  readonly image_id?: Id;
  readonly file_name?: unknown;
}
interface CocoCategory {
  readonly id?: Id;
  readonly category_id?: Id;
  readonly name?: string;
  readonly scientificName?: string;
  readonly family?: string;
}
interface CocoMetadata {
  readonly images?: unknown;
  readonly annotations?: readonly { image_id?: Id; category_id?: Id }[];
  readonly categories?: readonly CocoCategory[];
}

/** Items of a COCO metadata file; train images must each have an annotation. */
export async function readCoco(
  dataDir: string,
  year: Exclude<HerbariumYear, 2019>,
  split: 'train' | 'test',
): Promise<Item[]> {
  const layout = cocoLayout(year, split);
  const path = join(dataDir, layout.metadata);
  const value = await readJson<CocoMetadata | readonly CocoImage[]>(path, {
    encoding: year === 2020 ? 'latin1' : 'utf8',
  });
  const metadata: CocoMetadata | null = Array.isArray(value) ? { images: value } : (value as CocoMetadata | null);
  if (metadata === null || typeof metadata !== 'object')
    throw new InputError(path, undefined, undefined, `expected a COCO metadata object, got ${JSON.stringify(value)}`);
  if (!Array.isArray(metadata.images))
    throw new InputError(path, undefined, 'images', 'expected a list of images (COCO metadata)');
  const records = <T>(key: 'annotations' | 'categories'): T[] => {
    const list = metadata[key] ?? [];
    if (!Array.isArray(list)) throw new InputError(path, undefined, key, 'expected a list (COCO metadata)');
    list.forEach((entry, i) => {
      if (entry === null || typeof entry !== 'object')
        throw new InputError(path, undefined, `${key}[${i}]`, `expected an object, got ${JSON.stringify(entry)}`);
    });
    return list as T[];
  };
  const categoryOf = new Map(
    records<{ image_id?: Id; category_id?: Id }>('annotations').map((a) => [String(a.image_id), String(a.category_id)]),
  );
  const categories = new Map(records<CocoCategory>('categories').map((c) => [String(c.id ?? c.category_id), c]));
  return (metadata.images as (CocoImage | null)[]).map((image, i): Item => {
    if (image === null || typeof image !== 'object')
      throw new InputError(path, undefined, `images[${i}]`, `expected an object, got ${JSON.stringify(image)}`);
    const id = image.id ?? image.image_id;
    if (id === undefined || typeof image.file_name !== 'string')
      throw new InputError(path, undefined, `images[${i}]`, 'expected "id" (or "image_id") and "file_name"');
    const category = categoryOf.get(String(id));
    if (split === 'train' && category === undefined)
      throw new InputError(path, undefined, `images[${i}]`, `image ${id} has no annotation`);
    const described = category === undefined ? undefined : categories.get(category);
    const name = described?.name ?? described?.scientificName;
    return {
      id: String(id),
      labels: category === undefined ? [] : [category],
      ...(described?.family === undefined ? {} : { group: described.family }),
      imagePath: dataPath(dataDir, { file: path, field: `images[${i}].file_name` }, layout.imageRoot, image.file_name),
      extra: name === undefined ? {} : { name: String(name) },
    };
  });
}

async function listFolder(folder: string): Promise<Dirent[]> {
  try {
    return (await readdir(folder, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  } catch {
    throw new InputError(folder, undefined, undefined, 'folder not found');
  }
}

const IMAGE = /\.(jpe?g|png)$/i;

/**
 * Herbarium 2019 train items from `train/` and `validation/` (both labelled by folder). File ids
 * repeat across categories, so an item's id is its path below the data directory without extension.
 */
export async function read2019Train(dataDir: string): Promise<Item[]> {
  const items: Item[] = [];
  for (const split of ['train', 'validation']) {
    const root = join(dataDir, split);
    if (split === 'validation' && !existsSync(root)) continue;
    for (const category of (await listFolder(root)).filter((entry) => entry.isDirectory())) {
      for (const file of (await listFolder(join(root, category.name))).filter(
        (entry) => entry.isFile() && IMAGE.test(entry.name),
      )) {
        items.push({
          id: `${split}/${category.name}/${basename(file.name, extname(file.name))}`,
          labels: [category.name],
          imagePath: join(root, category.name, file.name),
          extra: {},
        });
      }
    }
  }
  if (items.length === 0)
    throw new InputError(join(dataDir, 'train'), undefined, undefined, 'no images in train/<category>/ folders');
  return items;
}

/** Herbarium 2019 test items: `test/<id>.jpg`, id = file name without extension (the submission's `Id`). */
export async function read2019Test(dataDir: string): Promise<Item[]> {
  const folder = join(dataDir, 'test');
  return (await listFolder(folder))
    .filter((entry) => entry.isFile() && IMAGE.test(entry.name))
    .map((entry) => ({
      id: basename(entry.name, extname(entry.name)),
      labels: [],
      imagePath: join(folder, entry.name),
      extra: {},
    }));
}
