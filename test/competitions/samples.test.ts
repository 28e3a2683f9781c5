import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_SOLUTION_FILE, type Competition, type Item, type TestSet } from '../../core/contracts/competition.js';
import { competition, readCsvFile, treeHash, VARIANTS } from './helpers.js';

interface Generated {
  readonly competition: Competition;
  readonly dir: string;
  readonly train: Item[];
  readonly test: TestSet;
}

const root = mkdtempSync(join(tmpdir(), 'simkit-samples-'));
const SEED = 11;
const samples = new Map<string, Generated>();

beforeAll(async () => {
  for (const variant of VARIANTS) {
    const adapter = await competition(variant);
    const dir = join(root, variant, 'a');
    await adapter.generateSample(dir, SEED);
    samples.set(variant, {
      competition: adapter,
      dir,
      train: await adapter.readTrain(dir),
      test: await adapter.readTest(dir),
    });
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sample = (variant: string): Generated => samples.get(variant)!;
const pathsOf = (item: Item): readonly string[] => item.channelPaths ?? (item.imagePath ? [item.imagePath] : []);
const labelsOf = (items: readonly Item[]) => new Set(items.flatMap((item) => item.labels));
function groupBy(items: readonly Item[], key: (item: Item) => string | undefined): Item[][] {
  const groups = new Map<string | undefined, Item[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return [...groups.values()];
}

describe.each(VARIANTS)('%s sample', (variant) => {
  it('reads back in Kaggle layout: unique ids, labelled train items, unlabelled test items, every image on disk', () => {
    const { competition: adapter, train, test } = sample(variant);
    expect(train.length).toBeGreaterThanOrEqual(100);
    expect(test.queries.length).toBeGreaterThanOrEqual(20);
    for (const items of [train, test.queries, test.index ?? []]) {
      expect(new Set(items.map((item) => item.id)).size).toBe(items.length);
      for (const item of items) {
        expect(pathsOf(item)).toHaveLength(adapter.modality === 'image4' ? 4 : 1);
        for (const path of pathsOf(item)) expect(existsSync(path), path).toBe(true);
      }
    }
    expect(train.every((item) => item.labels.length > 0 && item.labels.every((label) => label.trim() !== ''))).toBe(
      true,
    );
    expect(test.queries.every((item) => item.labels.length === 0)).toBe(true);
    expect(test.index !== undefined).toBe(adapter.task === 'retrieve');
    // Classes repeat: a sample in which every train label is unique would teach nothing.
    expect(labelsOf(train).size).toBeLessThan(train.length / 2);
  });

  it('ships sample_submission.csv and the hidden truth in Kaggle solution format for exactly the test ids', () => {
    const { competition: adapter, dir, test } = sample(variant);
    const columns = [adapter.submission.idColumn, adapter.submission.labelColumn];
    const solution = readCsvFile(join(dir, SAMPLE_SOLUTION_FILE));
    expect(solution.header).toEqual([...columns, 'Usage']);
    expect(solution.rows.map((row) => row[0]).sort()).toEqual(test.queries.map((item) => item.id).sort());
    const usages = new Set(solution.rows.map((row) => row[2]));
    expect(usages.has('Public') && usages.has('Private')).toBe(true);
    expect(readCsvFile(join(dir, 'sample_submission.csv')).header).toEqual(columns);
  });

  it('is the same bytes for the same seed and different for another seed', async () => {
    const { competition: adapter, dir } = sample(variant);
    const again = join(root, variant, 'b');
    const other = join(root, variant, 'c');
    await adapter.generateSample(again, SEED);
    await adapter.generateSample(other, SEED + 1);
    expect(treeHash(again)).toBe(treeHash(dir));
    expect(treeHash(other)).not.toBe(treeHash(dir));
  });
});

describe('quirks', () => {
  it('Shopee: groups of 2-6, titles with commas and quotes read verbatim, phash shared inside and across groups', () => {
    const { dir, train } = sample('shopee');
    const sizes = groupBy(train, (item) => item.labels[0]).map((group) => group.length);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(6);
    expect(train.some((item) => item.text!.includes(','))).toBe(true);
    expect(train.some((item) => item.text!.includes('"'))).toBe(true);
    const raw = readCsvFile(join(dir, 'train.csv'));
    expect(raw.header).toEqual(['posting_id', 'image', 'image_phash', 'title', 'label_group']);
    expect(train.map((item) => item.text)).toEqual(raw.rows.map((row) => row[3]));
    const shared = groupBy(train, (item) => item.phash).filter((items) => items.length > 1);
    expect(shared.some((items) => new Set(items.map((item) => item.labels[0])).size === 1)).toBe(true);
    expect(shared.some((items) => new Set(items.map((item) => item.labels[0])).size > 1)).toBe(true);
  });

  it("Shopee: a 3-row test.csv (Kaggle's public one) is a valid test set", async () => {
    const { competition: adapter, dir } = sample('shopee');
    const copy = join(root, 'shopee-public');
    cpSync(dir, copy, { recursive: true });
    const lines = readFileSync(join(dir, 'test.csv'), 'utf8').trimEnd().split('\n');
    writeFileSync(join(copy, 'test.csv'), `${lines.slice(0, 4).join('\n')}\n`);
    const test = await adapter.readTest(copy);
    expect(test.queries).toHaveLength(3);
    expect(test.queries.every((item) => existsSync(item.imagePath!))).toBe(true);
  });

  it('Landmarks: nested train/a/b/c/<id>.jpg with 16-hex ids, test mostly images of no landmark', () => {
    const { dir, train, test } = sample('landmarks');
    for (const item of [...train, ...test.queries]) {
      expect(item.id).toMatch(/^[0-9a-f]{16}$/);
      const folder = train.includes(item) ? 'train' : 'test';
      expect(relative(dir, item.imagePath!)).toBe(
        join(folder, item.id[0]!, item.id[1]!, item.id[2]!, `${item.id}.jpg`),
      );
    }
    const truth = readCsvFile(join(dir, SAMPLE_SOLUTION_FILE)).rows;
    expect(truth.filter((row) => row[1] === '').length).toBeGreaterThan(truth.length / 2);
    const known = labelsOf(train);
    expect(truth.filter((row) => row[1] !== '').every((row) => known.has(row[1]!))).toBe(true);
  });

  it('Landmark retrieval: nested index/ and test/ trees; every query with truth has relevant index images', () => {
    const { dir, test } = sample('landmark-retrieval');
    for (const [folder, items] of [
      ['index', test.index!],
      ['test', test.queries],
    ] as const) {
      for (const item of items)
        expect(relative(dir, item.imagePath!)).toBe(
          join(folder, item.id[0]!, item.id[1]!, item.id[2]!, `${item.id}.jpg`),
        );
    }
    const indexIds = new Set(test.index!.map((item) => item.id));
    const truth = readCsvFile(join(dir, SAMPLE_SOLUTION_FILE)).rows;
    for (const [, images] of truth) expect(images!.split(' ').every((id) => indexIds.has(id))).toBe(true);
  });

  it('Hotel-ID: train images under train_images/<chain>/, chain kept as the group', () => {
    const { dir, train } = sample('hotels');
    for (const item of train) expect(relative(dir, item.imagePath!)).toBe(join('train_images', item.group!, item.id));
    expect(new Set(train.map((item) => item.group)).size).toBeGreaterThan(1);
    expect(readCsvFile(join(dir, 'train.csv')).header).toEqual(['image', 'chain', 'hotel_id', 'timestamp']);
  });

  it('Herbarium 2019: train/<category>/<id>.jpg with ids repeating across categories, validation/ read as train', () => {
    const { dir, train } = sample('herbarium-2019-fgvc6');
    const fileIds = train.map((item) => basename(item.imagePath!));
    expect(new Set(fileIds).size).toBeLessThan(fileIds.length);
    for (const item of train) expect(basename(dirname(item.imagePath!))).toBe(item.labels[0]);
    expect(train.some((item) => item.imagePath!.includes(`${sep}validation${sep}`))).toBe(true);
    expect(readdirSync(join(dir, 'test')).every((name) => name.endsWith('.jpg'))).toBe(true);
  });

  it('Herbarium 2020: latin-1 metadata with a non-ASCII species name is read correctly', () => {
    const { dir, train } = sample('herbarium-2020-fgvc7');
    const bytes = readFileSync(join(dir, 'train', 'metadata.json'));
    expect(isUtf8(bytes)).toBe(false);
    expect(train.some((item) => item.extra.name === 'Ranunculus ×hybridus Müll.')).toBe(true);
    expect(train.every((item) => item.group !== undefined)).toBe(true);
  });

  it('Herbarium 2022: train_metadata.json + train_images/, test_metadata.json as a list', () => {
    const { dir, test } = sample('herbarium');
    expect(Array.isArray(JSON.parse(readFileSync(join(dir, 'test_metadata.json'), 'utf8')))).toBe(true);
    expect(test.queries.every((item) => item.imagePath!.startsWith(join(dir, 'test_images')))).toBe(true);
  });

  it('Humpback Whale: new_whale in train and in about a quarter of the test truth', () => {
    const { dir, train } = sample('whales');
    expect(train.some((item) => item.labels[0] === 'new_whale')).toBe(true);
    const truth = readCsvFile(join(dir, SAMPLE_SOLUTION_FILE)).rows;
    const share = truth.filter((row) => row[1] === 'new_whale').length / truth.length;
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.45);
  });

  it('Protein Atlas: four channel PNGs per id, targets within 0-27, some samples with several classes', () => {
    const { train } = sample('protein');
    for (const item of train) {
      expect(item.channelPaths!.map((path) => basename(path))).toEqual(
        ['red', 'green', 'blue', 'yellow'].map((c) => `${item.id}_${c}.png`),
      );
      expect(item.labels.every((label) => Number(label) >= 0 && Number(label) <= 27)).toBe(true);
    }
    expect(train.some((item) => item.labels.length > 1)).toBe(true);
  });
});
