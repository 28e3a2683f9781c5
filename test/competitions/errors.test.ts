import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.js';
import { herbarium } from '../../competitions/herbarium/herbarium.js';
import { competition } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'simkit-bad-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A data directory holding the given files (relative path → content). */
function dataDir(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(root, 'data-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

async function inputError(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('bad input is an InputError naming file, line and field', () => {
  it('Shopee: a missing column, an empty id, an unterminated quote', async () => {
    const shopee = await competition('shopee');
    let dir = dataDir({ 'train.csv': 'posting_id,image,image_phash,title\np1,a.jpg,ff,hat\n' });
    let error = await inputError(shopee.readTrain(dir));
    expect([error.file, error.line, error.field]).toEqual([join(dir, 'train.csv'), 1, 'label_group']);

    dir = dataDir({
      'train.csv': 'posting_id,image,image_phash,title,label_group\np1,a.jpg,ff,"hat, red",7\n,b.jpg,ee,cap,7\n',
    });
    error = await inputError(shopee.readTrain(dir));
    expect([error.file, error.line, error.field]).toEqual([join(dir, 'train.csv'), 3, 'posting_id']);
    expect(error.message).toContain(`${join(dir, 'train.csv')}:3 (posting_id)`);

    dir = dataDir({ 'test.csv': 'posting_id,image,image_phash,title\np1,a.jpg,ff,"hat\n' });
    error = await inputError(shopee.readTest(dir));
    expect(error.file).toBe(join(dir, 'test.csv'));
    expect(error.line).toBeGreaterThanOrEqual(2);
  });

  it('Protein Atlas: a class outside 0-27', async () => {
    const protein = await competition('protein');
    const dir = dataDir({ 'train.csv': 'Id,Target\nx1,0 5\nx2,0 31\n' });
    const error = await inputError(protein.readTrain(dir));
    expect([error.line, error.field]).toEqual([3, 'Target']);
  });

  it('Landmarks: an id too short for the nested layout; a missing train.csv', async () => {
    const landmarks = await competition('landmarks');
    const error = await inputError(landmarks.readTrain(dataDir({ 'train.csv': 'id,landmark_id\nab,7\n' })));
    expect([error.line, error.field]).toEqual([2, 'id']);
    const missing = await inputError(landmarks.readTrain(dataDir({})));
    expect(missing.message).toMatch(/train\.csv: file not found/);
  });

  it('Hotel-ID and whales: an empty label, a missing test folder', async () => {
    const hotels = await competition('hotels');
    const error = await inputError(
      hotels.readTrain(dataDir({ 'train.csv': 'image,chain,hotel_id,timestamp\na.jpg,3,,2018-01-01 10:00:00\n' })),
    );
    expect([error.line, error.field]).toEqual([2, 'hotel_id']);
    const whales = await competition('whales');
    const missing = await inputError(whales.readTest(dataDir({})));
    expect(missing.file.endsWith('test')).toBe(true);
  });

  it('Herbarium: broken JSON, JSON that is no object, an image without annotation, non-UTF-8 outside 2020, an unknown year, no 2019 folders', async () => {
    const h2021 = herbarium({ year: 2021 });
    let error = await inputError(h2021.readTrain(dataDir({ 'train/metadata.json': '{"images": [' })));
    expect(error.file.endsWith(join('train', 'metadata.json'))).toBe(true);

    for (const notAnObject of ['null', '3', '"images"']) {
      error = await inputError(h2021.readTest(dataDir({ 'test/metadata.json': notAnObject })));
      expect(error.message).toContain(`expected a COCO metadata object, got ${notAnObject}`);
    }

    const orphan = JSON.stringify({ images: [{ id: 5, file_name: 'images/5.jpg' }], annotations: [], categories: [] });
    error = await inputError(h2021.readTrain(dataDir({ 'train/metadata.json': orphan })));
    expect(error.field).toBe('images[0]');

    const latin1 = Buffer.from(
      JSON.stringify({ images: [], annotations: [], categories: [{ id: 1, name: 'Müll.' }] }),
      'latin1',
    );
    error = await inputError(h2021.readTrain(dataDir({ 'train/metadata.json': latin1 })));
    expect(error.message).toMatch(/not valid UTF-8/);
    // The same bytes are what Herbarium 2020 ships, and are read.
    expect(await herbarium({ year: 2020 }).readTrain(dataDir({ 'train/metadata.json': latin1 }))).toEqual([]);

    expect(() => herbarium({ year: 2018 })).toThrow(InputError);
    await inputError(herbarium({ year: 2019 }).readTrain(dataDir({})));
  });
});
