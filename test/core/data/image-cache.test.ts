import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ImageCache, cachedPixels } from '../../../core/data/image-cache.js';
import { decodePixels } from '../../../core/data/image-decode.js';
import { DecoderPool, fillImageCache, imageBatches, type BatchSource } from '../../../core/data/images.js';

let dir: string;
const file = (name: string) => join(dir, name);
const SIZE = 8;
const augment = {
  crop: { scale: [0.3, 1] as [number, number] },
  flip: true,
  rotate: 15,
  colorJitter: { brightness: 0.3, contrast: 0.2, saturation: 0.2 },
  cutout: { size: 0.25 },
};

/** A 20×14 image whose colours depend on position and `shade`, so that every image and crop differs. */
async function writeImage(path: string, shade: number): Promise<void> {
  const [width, height] = [20, 14];
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      raw.set([(x * 12 + shade) % 256, (y * 17) % 256, (x * y + shade) % 256], (y * width + x) * 3);
  await sharp(raw, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(path);
}

const items = (count: number): BatchSource[] =>
  Array.from({ length: count }, (_, i) => ({
    id: `item${i}`,
    imagePath: file(`image${i}.png`),
    label: i % 3,
    cacheSlot: i,
  }));

/** Every batch of one pass over `list`, concatenated, with the stream's summary. */
async function pass(list: readonly BatchSource[], options: { cache?: ImageCache; pool: DecoderPool; seed: number }) {
  const stream = imageBatches(list, { batchSize: 3, size: SIZE, augment, prefetch: 1, ...options });
  const values: number[] = [];
  const ids: string[] = [];
  for await (const batch of stream) {
    values.push(...batch.data);
    ids.push(...batch.ids);
  }
  return { values, ids, summary: stream.summary };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simkit-image-cache-'));
  for (let i = 0; i < 7; i++) await writeImage(file(`image${i}.png`), i * 30);
  await writeFile(file('garbage.png'), 'not an image');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ImageCache', () => {
  for (const where of ['memory', 'disk'] as const) {
    it(`in ${where}: the same tensors as decoding every time, and the cache is what the second pass reads`, async () => {
      const pool = new DecoderPool(2);
      const cacheDir = await mkdtemp(join(tmpdir(), 'simkit-cache-dir-'));
      try {
        const list = items(7);
        const uncached = await pass(list, { pool, seed: 5 });
        expect(uncached.summary.decoded).toBe(7);
        const cache = (await ImageCache.open(
          list,
          { size: SIZE, channels: 3 },
          {
            dir: cacheDir,
            memoryBytes: where === 'memory' ? 1 << 20 : 0,
          },
        ))!;
        expect(cache.where).toBe(where);
        const first = await pass(list, { pool, seed: 5, cache });
        expect(first.summary.decoded).toBe(7);
        expect(cache.filled).toBe(7);
        // The files change on disk: a pass that still decoded them would see other pixels.
        for (let i = 0; i < 7; i++) await writeImage(file(`image${i}.png`), 255 - i * 30);
        const second = await pass(list, { pool, seed: 5, cache });
        expect(second.summary.decoded).toBe(0);
        expect(second.values).toEqual(uncached.values);
        expect(first.values).toEqual(uncached.values);
        expect((await pass(list, { pool, seed: 6, cache })).values).not.toEqual(uncached.values);
        // Each slot holds exactly what sharp decodes for the item.
        for (let i = 0; i < 7; i++) await writeImage(file(`image${i}.png`), i * 30);
        expect(Array.from(cachedPixels(cache.slot(3))!)).toEqual(
          Array.from(await decodePixels(list[3]!, { size: SIZE, channels: 3 })),
        );
        await cache.close();
      } finally {
        await pool.close();
        await rm(cacheDir, { recursive: true, force: true });
      }
    });
  }

  it('is kept for the next run, atomically, and a changed file, size or channel count is another cache', async () => {
    const pool = new DecoderPool(2);
    const cacheDir = await mkdtemp(join(tmpdir(), 'simkit-cache-dir-'));
    const list = items(4);
    const open = (memoryBytes: number, size = SIZE) =>
      ImageCache.open(list, { size, channels: 3 }, { dir: cacheDir, memoryBytes }).then((cache) => cache!);
    try {
      for (const memoryBytes of [1 << 20, 0]) {
        await rm(cacheDir, { recursive: true, force: true });
        const cache = await open(memoryBytes);
        expect(cache.reused).toBe(0);
        await fillImageCache(list, cache, { size: SIZE, channels: 3 }, pool);
        const pixels = Array.from(cachedPixels(cache.slot(2))!);
        await cache.close();
        const files = await readdir(cacheDir);
        expect(files).toHaveLength(1); // no temporary left behind
        expect(files[0]).toMatch(/^images-[0-9a-f]+\.pixels$/);

        const again = await open(memoryBytes);
        expect(again.reused).toBe(4);
        expect(Array.from(cachedPixels(again.slot(2))!)).toEqual(pixels);
        await again.close();

        // A file touched since: its cache is not this one (and the stale one is removed).
        const { mtime } = await stat(list[1]!.imagePath!);
        await utimes(list[1]!.imagePath!, mtime, new Date(mtime.getTime() + 5000));
        const touched = await open(memoryBytes);
        expect(touched.reused).toBe(0);
        await touched.close();
        expect(await readdir(cacheDir)).toEqual([]);
        expect((await open(memoryBytes, SIZE * 2)).reused).toBe(0);
      }
      // A cut-off cache file is not read.
      const cache = await open(1 << 20);
      await fillImageCache(list, cache, { size: SIZE, channels: 3 }, pool);
      await cache.close();
      const [name] = await readdir(cacheDir);
      const { size } = await stat(join(cacheDir, name!));
      await writeFile(join(cacheDir, name!), Buffer.alloc(size - 1));
      expect((await open(1 << 20)).reused).toBe(0);
    } finally {
      await pool.close();
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('skips and counts an unreadable image in every pass without decoding it again', async () => {
    const pool = new DecoderPool(2);
    try {
      const list: BatchSource[] = [...items(3), { id: 'bad', imagePath: file('garbage.png'), label: 0, cacheSlot: 3 }];
      const cache = (await ImageCache.open(list, { size: SIZE, channels: 3 }))!;
      await fillImageCache(list, cache, { size: SIZE, channels: 3 }, pool);
      expect([...cache.bad.keys()]).toEqual([3]);
      for (let epoch = 0; epoch < 2; epoch++) {
        const { ids, summary } = await pass(list, { pool, seed: epoch, cache });
        expect(ids).toEqual(['item0', 'item1', 'item2']);
        expect(summary.skipped).toBe(1);
        expect(summary.reasons[0]!.file).toBe(file('garbage.png'));
        expect(summary.decoded).toBe(0);
      }
      await cache.close();
    } finally {
      await pool.close();
    }
  });
});
