import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  dctLowFrequencies,
  generateShopeeLike,
  optionsFromArguments,
  perceptualHash,
  type ShopeeLikeOptions,
} from '../../bench/generate-shopee-like.js';
import { shopee } from '../../competitions/shopee/shopee.js';
import { readCsv } from '../../core/competition/adapter.js';
import { Random } from '../../core/random.js';

const root = mkdtempSync(join(tmpdir(), 'shopee-like-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SMALL: ShopeeLikeOptions = { postings: 60, testPostings: 25, seed: 7, hard: 0.3, imageSize: 48 };

/** Every file of the set, by relative path, as an md5 of its bytes. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[path.slice(dir.length + 1)] = createHash('md5').update(readFileSync(path)).digest('hex');
  }
  return out;
}

async function rows(path: string): Promise<Record<string, string>[]> {
  return (await readCsv(path, [])).map((row) => row.record);
}

describe('generate-shopee-like', () => {
  it('writes the same files for the same seed and options, and other files for another seed', async () => {
    await generateShopeeLike(join(root, 'a'), SMALL, false);
    await generateShopeeLike(join(root, 'b'), SMALL, false);
    await generateShopeeLike(join(root, 'c'), { ...SMALL, seed: 8 }, false);
    const a = fingerprint(join(root, 'a'));
    expect(Object.keys(a).length).toBeGreaterThan(40);
    expect(fingerprint(join(root, 'b'))).toEqual(a);
    expect(fingerprint(join(root, 'c'))['train.csv']).not.toBe(a['train.csv']);
  });

  it("is in Kaggle's Shopee layout, read by the Shopee competition, with groups of two or more kept to one split", async () => {
    const dir = join(root, 'a');
    const train = await rows(join(dir, 'train.csv'));
    const test = await rows(join(dir, 'test.csv'));
    expect(train).toHaveLength(SMALL.postings);
    expect(test).toHaveLength(SMALL.testPostings);
    expect(Object.keys(train[0]!)).toEqual(['posting_id', 'image', 'image_phash', 'title', 'label_group']);
    expect(Object.keys(test[0]!)).toEqual(['posting_id', 'image', 'image_phash', 'title']);
    const trainFiles = new Set(readdirSync(join(dir, 'train_images')));
    for (const row of train) {
      expect(trainFiles.has(row.image!)).toBe(true);
      expect(row.image_phash).toMatch(/^[0-9a-f]{16}$/);
      expect(row.posting_id).toMatch(/^train_\d+$/);
    }
    expect(new Set(train.map((r) => r.posting_id)).size).toBe(train.length);
    const sizes = new Map<string, number>();
    for (const row of train) sizes.set(row.label_group!, (sizes.get(row.label_group!) ?? 0) + 1);
    expect(Math.min(...sizes.values())).toBeGreaterThanOrEqual(2);
    const metadata = await sharp(join(dir, 'train_images', train[0]!.image!)).metadata();
    expect([metadata.format, metadata.width, metadata.height]).toEqual(['jpeg', 48, 48]);
    // The solution lists each test posting's group, itself included; no test group is a train group.
    const solution = await rows(join(dir, 'solution.csv'));
    expect(solution.map((r) => r.posting_id)).toEqual(test.map((r) => r.posting_id));
    for (const row of solution) expect(row.matches!.split(' ')).toContain(row.posting_id);
    expect(Math.min(...solution.map((r) => r.matches!.split(' ').length))).toBeGreaterThanOrEqual(2);

    const competition = shopee();
    const items = await competition.readTrain(dir);
    expect(items).toHaveLength(SMALL.postings);
    expect(items[0]!.phash).toBe(train[0]!.image_phash);
    expect((await competition.readTest(dir)).queries).toHaveLength(SMALL.testPostings);
  });

  it('makes near-duplicate products in other groups (same brand and model code) only when hard', async () => {
    const codes = async (hard: number) => {
      const dir = join(root, `hard-${hard}`);
      await generateShopeeLike(dir, { ...SMALL, postings: 300, testPostings: 2, hard }, false);
      const groupsByCode = new Map<string, Set<string>>();
      for (const row of await rows(join(dir, 'train.csv'))) {
        // Model codes are spelled KR-205, KR205 or kr 205: letters then three digits.
        const code = /\b([a-z]{1,2})[- ]?(\d{3})\b/i.exec(row.title!);
        if (!code) continue;
        const key = `${code[1]!.toUpperCase()}${code[2]}`;
        groupsByCode.set(key, (groupsByCode.get(key) ?? new Set()).add(row.label_group!));
      }
      return [...groupsByCode.values()].filter((groups) => groups.size > 1).length;
    };
    expect(await codes(0)).toBeLessThanOrEqual(1);
    expect(await codes(1)).toBeGreaterThanOrEqual(10);
  });

  it('hashes images as pHash does: the DCT against a float64 double sum, equal images equal, others apart', async () => {
    const n = 32;
    const pixels = Float64Array.from({ length: n * n }, (_, i) => (i * 37) % 251);
    const fast = dctLowFrequencies(pixels, n, 8);
    for (const [u, v] of [
      [0, 0],
      [1, 0],
      [3, 5],
      [7, 7],
    ] as const) {
      let direct = 0;
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++)
          direct +=
            pixels[y * n + x]! *
            Math.cos(((2 * y + 1) * u * Math.PI) / (2 * n)) *
            Math.cos(((2 * x + 1) * v * Math.PI) / (2 * n));
      expect(fast[u * 8 + v]).toBeCloseTo(direct, 6);
    }
    // A smooth random picture: an 8×8 grid of random greys blown up to 64×64.
    const random = new Random(5);
    const grid = Buffer.from(Array.from({ length: 8 * 8 * 3 }, () => random.int(256)));
    const picture = await sharp(grid, { raw: { width: 8, height: 8, channels: 3 } })
      .resize(64, 64, { kernel: 'cubic' })
      .raw()
      .toBuffer();
    const jpeg = (quality: number, flip = false) => {
      const image = sharp(picture, { raw: { width: 64, height: 64, channels: 3 } });
      return (flip ? image.flip() : image).jpeg({ quality }).toBuffer();
    };
    const distance = (a: string, b: string) =>
      [...(BigInt(`0x${a}`) ^ BigInt(`0x${b}`)).toString(2)].filter((bit) => bit === '1').length;
    const hash = await perceptualHash(await jpeg(90));
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(await perceptualHash(await jpeg(90))).toBe(hash);
    expect(distance(hash, await perceptualHash(await jpeg(60)))).toBeLessThanOrEqual(4);
    expect(distance(hash, await perceptualHash(await jpeg(90, true)))).toBeGreaterThanOrEqual(8);
  });

  it('reads its options from the command line and rejects bad ones before writing anything', async () => {
    expect(optionsFromArguments(['--postings', '10,000', '--seed=3'])).toMatchObject({
      postings: 10_000,
      testPostings: 3_000,
      seed: 3,
    });
    expect(() => optionsFromArguments(['--postings', 'many'])).toThrow('--postings must be a number, not "many"');
    await expect(generateShopeeLike(join(root, 'bad'), { ...SMALL, hard: 2 }, false)).rejects.toThrow(
      '--hard must be a number from 0 to 1, not 2',
    );
    await expect(generateShopeeLike(join(root, 'bad'), { ...SMALL, postings: 1 }, false)).rejects.toThrow(
      '--postings must be a whole number from 2',
    );
    expect(readdirSync(root)).not.toContain('bad');
  });
});
