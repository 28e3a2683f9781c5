import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { Random } from '../../../core/random.js';
import { imageStreamData, type TrainingData } from '../../../core/training/data.js';

let dir: string;
const COUNT = 10;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simkit-image-stream-'));
  for (let i = 0; i < COUNT; i++) {
    const raw = Buffer.alloc(12 * 10 * 3);
    for (let p = 0; p < raw.length; p++) raw[p] = (p * 7 + i * 41) % 256;
    await sharp(raw, { raw: { width: 12, height: 10, channels: 3 } })
      .png()
      .toFile(join(dir, `${i}.png`));
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const items = () => Array.from({ length: COUNT }, (_, i) => ({ id: String(i), imagePath: join(dir, `${i}.png`) }));
const labels = Int32Array.from({ length: COUNT }, (_, i) => i % 2);
const plan = [
  [3, 1, 4, 1],
  [5, 9, 2, 6],
  [8, 7, 0],
];

/** Each epoch's inputs and labels as numbers, every tensor disposed. */
async function epochs(data: TrainingData, count: number): Promise<{ values: number[][]; decoded: number[] }> {
  const values: number[][] = [];
  const decoded: number[] = [];
  for (let epoch = 0; epoch < count; epoch++) {
    const epochValues: number[] = [];
    for await (const batch of data.batches(plan, epoch, new Random(1))) {
      epochValues.push(...(await batch.x.data()), ...(await batch.labels.data()));
      tf.dispose([batch.x, batch.labels]);
    }
    values.push(epochValues);
    decoded.push(data.decoded!);
  }
  return { values, decoded };
}

describe('imageStreamData', () => {
  it('decodes each image once before the first epoch and augments the cached pixels in every epoch', async () => {
    const options = { size: 6, channels: 3, augment: { flip: true, rotate: 10, cutout: { size: 0.3 } }, seed: 4 };
    const before = tf.memory().numTensors;
    const uncached = imageStreamData(items(), labels, { ...options, cache: false });
    const reference = await epochs(uncached, 2);
    await uncached.close!();
    expect(reference.decoded).toEqual([11, 11]);
    expect(reference.values[1]).not.toEqual(reference.values[0]); // each epoch draws new augmentations

    const cached = imageStreamData(items(), labels, { ...options, cache: {} });
    await cached.prepare!();
    // Unreadable files now: only a cache can still give their pixels.
    for (let i = 0; i < COUNT; i++) await writeFile(join(dir, `${i}.png`), 'gone');
    const measured = await epochs(cached, 2);
    await cached.close!();
    expect(measured.decoded).toEqual([0, 0]);
    expect(measured.values).toEqual(reference.values);
    expect(cached.skipped).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("folds share one cache of every fold's items: a later fold decodes nothing, an item the cache lacks is decoded", async () => {
    const options = { size: 6, channels: 3, augment: { flip: true }, seed: 2 };
    const all = Array.from({ length: COUNT }, (_, i) => ({ id: String(i), imagePath: join(dir, `shared-${i}.png`) }));
    for (let i = 0; i < COUNT; i++)
      await sharp(Buffer.alloc(6 * 6 * 3, i * 20), { raw: { width: 6, height: 6, channels: 3 } })
        .png()
        .toFile(all[i]!.imagePath);
    const cacheDir = join(dir, 'shared-cache');
    // Fold A trains on items 0-6, fold B on 3-9 and on an item whose id is in the cache with another file.
    const outsider = { id: '4', imagePath: join(dir, 'shared-0.png') };
    const folds = { a: all.slice(0, 7), b: [...all.slice(3), outsider] };
    const foldLabels = Int32Array.from({ length: 8 }, (_, i) => i % 3);
    const foldPlan = [
      [0, 1, 2, 3],
      [4, 5, 6],
    ];
    const run = async (stream: readonly { id: string; imagePath: string }[], cache: boolean) => {
      const data = imageStreamData(stream, foldLabels.slice(0, stream.length), {
        ...options,
        cache: cache ? { dir: cacheDir } : false,
        cacheItems: all,
      });
      await data.prepare?.();
      const values: number[] = [];
      for await (const batch of data.batches(
        stream.length === 8 ? [foldPlan[0]!, [...foldPlan[1]!, 7]] : foldPlan,
        0,
        new Random(1),
      )) {
        values.push(...(await batch.x.data()));
        tf.dispose([batch.x, batch.labels]);
      }
      await data.close!();
      return { values, decoded: data.decoded };
    };
    const cacheFile = async () => {
      const [name, ...others] = await readdir(cacheDir);
      expect(others).toEqual([]);
      return { name, modified: (await stat(join(cacheDir, name!))).mtimeMs };
    };

    const a = await run(folds.a, true);
    expect(a.decoded).toBe(0);
    expect(a.values).toEqual((await run(folds.a, false)).values);
    const afterA = await cacheFile();
    const b = await run(folds.b, true);
    // Only the outsider (id 4 with item 0's file) is decoded from its file; the cache is the same file, not rewritten.
    expect(b.decoded).toBe(1);
    expect(b.values).toEqual((await run(folds.b, false)).values);
    expect(await cacheFile()).toEqual(afterA);
  }, 60_000);
});
