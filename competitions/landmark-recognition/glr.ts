import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Item } from '../../core/contracts/competition.js';
import { dataPath, readCsv, requireField } from '../../core/competition/adapter.js';
import { InputError } from '../../core/errors.js';

/** Google Landmarks' nested layout: `<folder>/{id[0]}/{id[1]}/{id[2]}/{id}.jpg`. */
export function glrPath(folder: string, id: string): string {
  return join(folder, id[0]!, id[1]!, id[2]!, `${id}.jpg`);
}

/** train.csv `id,landmark_id` with images under train/. */
export async function readGlrTrain(dataDir: string): Promise<Item[]> {
  const path = join(dataDir, 'train.csv');
  return (await readCsv(path, ['id', 'landmark_id'])).map(({ line, record }) => {
    const id = requireField(path, line, record, 'id');
    if (id.length < 3)
      throw new InputError(path, line, 'id', `expected a hex image id of at least 3 characters, got "${id}"`);
    return {
      id,
      labels: [requireField(path, line, record, 'landmark_id')],
      imagePath: dataPath(dataDir, { file: path, line, field: 'id' }, glrPath('train', id)),
      extra: record,
    };
  });
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
