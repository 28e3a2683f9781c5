import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SAMPLE_SOLUTION_FILE, type Competition, type CompetitionConfig, type Item } from '../../core/contracts/competition.js';
import { defineCompetition, hashedUsage } from '../../core/competition/adapter.js';
import { InputError } from '../../core/errors.js';
import { Random } from '../../core/random.js';
import { writeCsvAtomic, writeFileAtomic } from '../../core/samples/files.js';
import { IMAGE_CLASSIFICATION_CONFIG, classSizes, renderPictures } from '../../core/samples/labelled.js';

export const HERBARIUM_CONFIG: CompetitionConfig = { ...IMAGE_CLASSIFICATION_CONFIG, year: 2022 };

interface CocoImage {
  readonly id: number | string;
  readonly file_name: string;
}

interface CocoMetadata {
  readonly images: readonly CocoImage[];
  readonly annotations?: readonly { image_id: number | string; category_id: number | string }[];
}

/** COCO metadata; Herbarium 2020's file is not valid UTF-8 and is read as latin-1. */
async function readMetadata(path: string, year: number): Promise<CocoMetadata> {
  let text: string;
  try {
    text = await readFile(path, year === 2020 ? 'latin1' : 'utf8');
  } catch {
    throw new InputError(path, undefined, undefined, 'metadata file not found');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(path, undefined, undefined, `not valid JSON: ${(error as Error).message}`);
  }
  const images = (value as { images?: unknown }).images;
  if (!Array.isArray(images)) throw new InputError(path, undefined, 'images', 'expected a COCO metadata object with an "images" list');
  return value as CocoMetadata;
}

async function readSplit(dataDir: string, split: 'train' | 'test', year: number): Promise<Item[]> {
  const path = join(dataDir, split, 'metadata.json');
  const metadata = await readMetadata(path, year);
  const categoryOf = new Map((metadata.annotations ?? []).map((a) => [String(a.image_id), String(a.category_id)]));
  return metadata.images.map((image, i) => {
    if (image.id === undefined || typeof image.file_name !== 'string') throw new InputError(path, undefined, `images[${i}]`, 'expected "id" and "file_name"');
    const category = categoryOf.get(String(image.id));
    if (split === 'train' && category === undefined) throw new InputError(path, undefined, `images[${i}]`, `image ${image.id} has no annotation`);
    return { id: String(image.id), labels: category === undefined ? [] : [category], imagePath: join(dataDir, split, image.file_name), extra: {} };
  });
}

/** Species (categories) with a few specimens each, COCO metadata, images under <split>/images/<category>/. */
async function generateSample(dir: string, seed: number, year: number): Promise<void> {
  const random = new Random(seed);
  const species = 36;
  const sizes = classSizes(random, species, 4, 7);
  const categories = Array.from({ length: species }, (_, c) => ({ id: c * 3 + 1, name: `Carex sp. ${c}`, family: c % 2 ? 'Cyperaceae' : 'Rosaceae', genus: 'Carex' }));
  if (year === 2020) categories[0] = { ...categories[0]!, name: 'Ranunculus ×hybridus Müll.' };
  const split = { train: { images: [] as CocoImage[], annotations: [] as { id: number; image_id: number; category_id: number }[] }, test: { images: [] as CocoImage[] } };
  const solution: string[][] = [];
  const pictures = [];
  let id = 100;
  for (let c = 0; c < species; c++) {
    for (let i = 0; i < sizes[c]!; i++) {
      const file = `images/${String(categories[c]!.id).padStart(3, '0')}/${id}.jpg`;
      const isTest = i === 0;
      pictures.push({ path: join(isTest ? 'test' : 'train', file), motifIndex: c * 8 });
      if (isTest) {
        split.test.images.push({ id, file_name: file });
        solution.push([String(id), String(categories[c]!.id), hashedUsage({ id: String(id), labels: [], extra: {} })]);
      } else {
        split.train.images.push({ id, file_name: file });
        split.train.annotations.push({ id, image_id: id, category_id: categories[c]!.id });
      }
      id += 1;
    }
  }
  await renderPictures(dir, pictures, random);
  const encoding = year === 2020 ? 'latin1' : 'utf8';
  await writeFileAtomic(join(dir, 'train', 'metadata.json'), JSON.stringify({ ...split.train, categories }), encoding);
  await writeFileAtomic(join(dir, 'test', 'metadata.json'), JSON.stringify(split.test), encoding);
  await writeCsvAtomic(join(dir, SAMPLE_SOLUTION_FILE), ['Id', 'Predicted', 'Usage'], solution);
}

const METRIC_BY_YEAR: Record<number, string> = { 2020: 'herbarium-2020-fgvc7', 2021: 'herbarium-2021-fgvc8', 2022: 'herbarium-2022-fgvc9' };

/** Herbarium 2020-2022: one species per specimen from kNN voting, macro F1. */
export function herbarium(config: Partial<CompetitionConfig> = {}): Competition {
  const resolved = { ...HERBARIUM_CONFIG, ...config };
  const year = resolved.year ?? 2022;
  const metric = METRIC_BY_YEAR[year];
  if (!metric) throw new InputError('config', undefined, 'year', `expected 2020, 2021 or 2022, got ${year}`);
  return defineCompetition({
    slug: metric,
    alias: 'herbarium',
    title: `Herbarium ${year}`,
    metric,
    task: 'classify',
    modality: 'image',
    config: resolved,
    submission: { idColumn: 'Id', labelColumn: 'Predicted', maxLabels: 1, withConfidence: false },
    readTrain: (dataDir) => readSplit(dataDir, 'train', year),
    readTest: async (dataDir) => ({ queries: await readSplit(dataDir, 'test', year) }),
    generateSample: (dir, seed) => generateSample(dir, seed, year),
  });
}
