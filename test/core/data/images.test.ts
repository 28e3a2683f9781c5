import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import sharp from 'sharp';
import {
  colorJitter,
  cutout,
  flipHorizontal,
  randomResizedCropBox,
  resizedCrop,
  rotate,
  type FloatImage,
} from '../../../core/data/augment.js';
import { DecoderPool, decodeImage, imageBatches, loadImages, type BatchSource } from '../../../core/data/images.js';
import { InputError } from '../../../core/errors.js';
import { Random } from '../../../core/random.js';

let dir: string;
const path = (name: string) => join(dir, name);

type Rgb = readonly [number, number, number];
/** A raw RGB image whose pixel colour is `colour(x, y)`. */
function raw(width: number, height: number, colour: (x: number, y: number) => Rgb): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(colour(x, y), (y * width + x) * 3);
  return data;
}
const rawImage = (width: number, height: number, colour: (x: number, y: number) => Rgb) =>
  sharp(raw(width, height, colour), { raw: { width, height, channels: 3 } });

const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 255, 0];
const BLUE: Rgb = [0, 0, 255];
const WHITE: Rgb = [255, 255, 255];
/** Quadrants: red top-left, green top-right, blue bottom-left, white bottom-right. */
const quadrants = (w: number, h: number) => (x: number, y: number) =>
  y < h / 2 ? (x < w / 2 ? RED : GREEN) : x < w / 2 ? BLUE : WHITE;
/** A pattern with no symmetry, so that flips and rotations are visible. */
const pattern = (x: number, y: number): Rgb => [(x * 16) % 256, (y * 16) % 256, ((x * 7 + y * 3) * 5) % 256];

function pixel(data: Float32Array, width: number, channels: number, x: number, y: number): number[] {
  const at = (y * width + x) * channels;
  return Array.from(data.subarray(at, at + channels));
}

function expectColour(actual: number[], expected: Rgb, tolerance = 0.03): void {
  actual.forEach((v, c) => expect(Math.abs(v - expected[c]! / 255)).toBeLessThan(tolerance));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simkit-images-'));
  await rawImage(64, 64, quadrants(64, 64)).png().toFile(path('quadrants.png'));
  await rawImage(64, 64, quadrants(64, 64))
    .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
    .toFile(path('quadrants.jpg'));
  await rawImage(64, 64, quadrants(64, 64)).webp({ lossless: true }).toFile(path('quadrants.webp'));
  await rawImage(16, 16, pattern).png().toFile(path('pattern.png'));
  // Stored 32 wide × 16 high, left half red, right half blue; orientation 6 means "rotate 90° clockwise
  // to display", so the displayed image is 16 wide × 32 high with red on top.
  await rawImage(32, 16, (x) => (x < 16 ? RED : BLUE))
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 100 })
    .toFile(path('exif6.jpg'));
  await rawImage(128, 64, (x) => (x < 32 ? RED : x < 96 ? GREEN : BLUE))
    .png()
    .toFile(path('stripes.png'));
  const jpeg = await readFile(path('quadrants.jpg'));
  await writeFile(path('truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await writeFile(path('garbage.jpg'), Buffer.from('this is not an image'));
  for (const [name, value] of [
    ['red', 10],
    ['green', 80],
    ['blue', 160],
    ['yellow', 240],
  ] as const) {
    await sharp(Buffer.alloc(8 * 8, value), { raw: { width: 8, height: 8, channels: 1 } })
      .png()
      .toFile(path(`p_${name}.png`));
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('decodeImage', () => {
  it('decodes PNG, JPEG and WebP to HWC floats in [0, 1], resized', async () => {
    for (const file of ['quadrants.png', 'quadrants.jpg', 'quadrants.webp']) {
      const data = await decodeImage({ id: file, imagePath: path(file) }, { size: 16 });
      expect(data.length).toBe(16 * 16 * 3);
      expectColour(pixel(data, 16, 3, 0, 0), RED);
      expectColour(pixel(data, 16, 3, 15, 0), GREEN);
      expectColour(pixel(data, 16, 3, 0, 15), BLUE);
      expectColour(pixel(data, 16, 3, 15, 15), WHITE);
    }
  });

  it('honours the EXIF orientation', async () => {
    const data = await decodeImage({ id: 'exif', imagePath: path('exif6.jpg') }, { size: [8, 4] });
    for (let x = 0; x < 4; x++) {
      expectColour(pixel(data, 4, 3, x, 0), RED);
      expectColour(pixel(data, 4, 3, x, 7), BLUE);
    }
  });

  it('centre-crops to the target aspect ratio', async () => {
    const data = await decodeImage({ id: 'stripes', imagePath: path('stripes.png') }, { size: 4 });
    for (let i = 0; i < 16; i++) expectColour(pixel(data, 4, 3, i % 4, i >> 2), GREEN, 1e-6);
    const wide = await decodeImage({ id: 'stripes', imagePath: path('stripes.png') }, { size: [8, 16] });
    expectColour(pixel(wide, 16, 3, 0, 4), RED);
    expectColour(pixel(wide, 16, 3, 7, 4), GREEN);
    expectColour(pixel(wide, 16, 3, 15, 4), BLUE);
  });

  it('decodes grey, CHW, normalised and one-channel-per-file items', async () => {
    const rgb = await decodeImage({ id: 'q', imagePath: path('quadrants.png') }, { size: 2 });
    const grey = await decodeImage({ id: 'q', imagePath: path('quadrants.png') }, { size: 16, channels: 1 });
    expect(grey.length).toBe(16 * 16);
    expect(grey[255]).toBeCloseTo(1, 2); // white
    expect(grey[15]).toBeGreaterThan(grey[240]! + 0.3); // green is much lighter than blue
    const chw = await decodeImage({ id: 'q', imagePath: path('quadrants.png') }, { size: 2, layout: 'chw' });
    for (let c = 0; c < 3; c++) for (let p = 0; p < 4; p++) expect(chw[c * 4 + p]).toBe(rgb[p * 3 + c]);
    const mean = [0.5, 0.25, 0.1];
    const std = [0.5, 2, 0.25];
    const normalised = await decodeImage({ id: 'q', imagePath: path('quadrants.png') }, { size: 2, mean, std });
    normalised.forEach((v, i) => expect(v).toBeCloseTo((rgb[i]! - mean[i % 3]!) / std[i % 3]!, 6));
    const channelPaths = ['red', 'green', 'blue', 'yellow'].map((name) => path(`p_${name}.png`));
    const protein = await decodeImage({ id: 'p', channelPaths }, { size: 4 });
    expect(protein.length).toBe(4 * 4 * 4);
    for (let p = 0; p < 16; p++)
      expect(Array.from(protein.subarray(p * 4, p * 4 + 4))).toEqual(
        [10, 80, 160, 240].map((v) => Math.fround(v / 255)),
      );
  });

  it('flips exactly and only sometimes, repeating for a seed', async () => {
    const source = { id: 'pattern', imagePath: path('pattern.png') };
    const plain = await decodeImage(source, { size: 16 });
    const mirrored = new Float32Array(plain.length);
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++)
        for (let c = 0; c < 3; c++) mirrored[(y * 16 + x) * 3 + c] = plain[(y * 16 + 15 - x) * 3 + c]!;
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 16; seed++) {
      const data = await decodeImage(source, { size: 16, augment: { flip: true } }, seed);
      const kind = data.every((v, i) => v === plain[i])
        ? 'plain'
        : data.every((v, i) => v === mirrored[i])
          ? 'mirrored'
          : 'other';
      outcomes.add(kind);
      expect(await decodeImage(source, { size: 16, augment: { flip: true } }, seed)).toEqual(data);
    }
    expect([...outcomes].sort()).toEqual(['mirrored', 'plain']);
  });

  it('cuts out a zeroed square and leaves the rest', async () => {
    const source = { id: 'q', imagePath: path('quadrants.png') };
    const plain = await decodeImage(source, { size: 16 });
    const data = await decodeImage(source, { size: 16, augment: { cutout: { size: 0.25 } } }, 7);
    const zeroed: [number, number][] = [];
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const values = pixel(data, 16, 3, x, y);
        if (values.every((v) => v === 0)) zeroed.push([x, y]);
        else expect(values).toEqual(pixel(plain, 16, 3, x, y));
      }
    }
    const xs = zeroed.map(([x]) => x);
    const ys = zeroed.map(([, y]) => y);
    const [w, h] = [Math.max(...xs) - Math.min(...xs) + 1, Math.max(...ys) - Math.min(...ys) + 1];
    expect(zeroed.length).toBe(w * h); // a filled rectangle
    expect(w).toBeLessThanOrEqual(4);
    expect(h).toBeLessThanOrEqual(4);
    expect(zeroed.length).toBeGreaterThan(0);
  });

  it('random resized crops stay inside the image with the requested area and aspect ranges', async () => {
    const random = new Random(3);
    for (let i = 0; i < 200; i++) {
      const box = randomResizedCropBox(200, 100, { scale: [0.2, 0.6], ratio: [0.5, 2] }, random);
      expect(box.left).toBeGreaterThanOrEqual(0);
      expect(box.top).toBeGreaterThanOrEqual(0);
      expect(box.left + box.width).toBeLessThanOrEqual(200);
      expect(box.top + box.height).toBeLessThanOrEqual(100);
      const area = (box.width * box.height) / 20_000;
      expect(area).toBeGreaterThan(0.18);
      expect(area).toBeLessThan(0.62);
      expect(box.width / box.height).toBeGreaterThan(0.45);
      expect(box.width / box.height).toBeLessThan(2.2);
    }
    // No draw fits a 1×100 strip at ratio ≥ 1/2: the fallback is the centre crop with the ratio clamped.
    expect(randomResizedCropBox(100, 1, { ratio: [0.5, 2] }, new Random(1))).toEqual({
      left: 49,
      top: 0,
      width: 2,
      height: 1,
    });
    const source = { id: 'pattern', imagePath: path('pattern.png') };
    const options = { size: 8, augment: { crop: { scale: [0.1, 0.5] as [number, number] } } };
    const a = await decodeImage(source, options, 11);
    expect(await decodeImage(source, options, 11)).toEqual(a);
    expect(await decodeImage(source, options, 12)).not.toEqual(a);
  });
});

describe('augmentations on floats', () => {
  const image = (): FloatImage => {
    const data = new Float32Array(5 * 5 * 3);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 37) % 101) / 100;
    return { data, height: 5, width: 5, channels: 3 };
  };

  it('resizedCrop matches bilinear resampling of the box recomputed in float64, and the whole box is the identity', () => {
    const a = image();
    expect(Array.from(resizedCrop(a, { left: 0, top: 0, width: 5, height: 5 }).data)).toEqual(Array.from(a.data));
    const box = { left: 1, top: 2, width: 3, height: 2 };
    const out = resizedCrop(a, box).data;
    const value = (y: number, x: number, c: number) => a.data[(y * 5 + x) * 3 + c]!;
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 5; x++) {
        // The source point of output pixel (x, y), clamped to the box's outer pixel centres.
        const sx = Math.min(Math.max(1 + ((x + 0.5) * 3) / 5 - 0.5, 1), 3);
        const sy = Math.min(Math.max(2 + ((y + 0.5) * 2) / 5 - 0.5, 2), 3);
        const [x0, y0] = [Math.floor(sx), Math.floor(sy)];
        const [x1, y1] = [Math.min(x0 + 1, 3), Math.min(y0 + 1, 3)];
        for (let c = 0; c < 3; c++) {
          const expected =
            (1 - (sy - y0)) * ((1 - (sx - x0)) * value(y0, x0, c) + (sx - x0) * value(y0, x1, c)) +
            (sy - y0) * ((1 - (sx - x0)) * value(y1, x0, c) + (sx - x0) * value(y1, x1, c));
          expect(out[(y * 5 + x) * 3 + c]).toBeCloseTo(expected, 6);
        }
      }
  });

  it('flipHorizontal twice is the identity', () => {
    const a = image();
    const copy = Float32Array.from(a.data);
    flipHorizontal(a);
    expect(a.data).not.toEqual(copy);
    expect(Array.from(a.data.subarray(0, 3))).toEqual(Array.from(copy.subarray(12, 15)));
    flipHorizontal(a);
    expect(a.data).toEqual(copy);
  });

  it('rotates by 90 and 180 degrees like the exact pixel permutations', () => {
    const a = image();
    const half = rotate(a, 180);
    const quarter = rotate(a, 90);
    for (let y = 0; y < 5; y++) {
      for (let x = 0; x < 5; x++) {
        for (let c = 0; c < 3; c++) {
          const value = (yy: number, xx: number) => a.data[(yy * 5 + xx) * 3 + c]!;
          expect(half.data[(y * 5 + x) * 3 + c]).toBeCloseTo(value(4 - y, 4 - x), 5);
          // Counter-clockwise: the top row ends up in the left column, read bottom to top.
          expect(quarter.data[(y * 5 + x) * 3 + c]).toBeCloseTo(value(x, 4 - y), 5);
        }
      }
    }
    const ones: FloatImage = { data: new Float32Array(9 * 9).fill(1), height: 9, width: 9, channels: 1 };
    const tilted = rotate(ones, 45);
    expect(tilted.data[0]).toBe(0); // the corner comes from outside the image
    expect(tilted.data[4 * 9 + 4]).toBeCloseTo(1, 6);
  });

  it('colour jitter matches torchvision formulas recomputed in float64', () => {
    const a = image();
    const original = Array.from(a.data);
    const options = { brightness: 0.4, contrast: 0.4, saturation: 0.4 };
    colorJitter(a, options, new Random(5));
    const draws = new Random(5);
    const factor = () => draws.uniform(0.6, 1.4);
    const [b, c, s] = [factor(), factor(), factor()];
    const clamp = (v: number) => Math.min(1, Math.max(0, v));
    let values = original.map((v) => clamp(v * b));
    let meanLuma = 0;
    for (let p = 0; p < 25; p++)
      meanLuma += 0.2989 * values[p * 3]! + 0.587 * values[p * 3 + 1]! + 0.114 * values[p * 3 + 2]!;
    meanLuma /= 25;
    values = values.map((v) => clamp(c * v + (1 - c) * meanLuma));
    const expected = values.map((v, i) => {
      const p = i - (i % 3);
      const grey = 0.2989 * values[p]! + 0.587 * values[p + 1]! + 0.114 * values[p + 2]!;
      return clamp(s * v + (1 - s) * grey);
    });
    expected.forEach((v, i) => expect(a.data[i]).toBeCloseTo(v, 5));
  });

  it('cutout holes are clipped at the borders', () => {
    const counts = Array.from({ length: 40 }, (_, seed) => {
      const a: FloatImage = { data: new Float32Array(10 * 10).fill(1), height: 10, width: 10, channels: 1 };
      cutout(a, { size: 0.4 }, new Random(seed));
      return a.data.filter((v) => v === 0).length;
    });
    for (const count of counts) {
      expect(count).toBeGreaterThanOrEqual(4); // a 4×4 hole centred on a corner keeps 2×2
      expect(count).toBeLessThanOrEqual(16);
    }
    expect(counts).toContain(16);
    expect(counts.some((count) => count < 16)).toBe(true);
  });
});

describe('imageBatches', () => {
  const items = (n: number, file = 'pattern.png'): BatchSource[] =>
    Array.from({ length: n }, (_, i) => ({ id: `item${i}`, imagePath: path(file), label: i % 3 }));
  const augment = { flip: true, rotate: 10, colorJitter: { brightness: 0.3 }, cutout: { size: 0.2 } };

  it('yields batches in item order, decoded by several worker threads', async () => {
    const seenThreads = new Set<number>();
    const batches = [];
    for await (const batch of imageBatches(items(10), { batchSize: 4, size: 8, workers: 2, prefetch: 1 })) {
      batches.push(batch);
      for (const id of batch.threadIds) seenThreads.add(id);
    }
    expect(batches.map((b) => b.shape)).toEqual([
      [4, 8, 8, 3],
      [4, 8, 8, 3],
      [2, 8, 8, 3],
    ]);
    expect(batches.flatMap((b) => b.ids)).toEqual(items(10).map((item) => item.id));
    expect(batches.flatMap((b) => Array.from(b.labels))).toEqual(items(10).map((item) => item.label));
    expect(seenThreads.size).toBe(2);
    expect(seenThreads.has(threadId)).toBe(false);
    const single = await decodeImage(items(1)[0]!, { size: 8 });
    expect(batches[2]!.data.subarray(0, single.length)).toEqual(single);
  });

  it('repeats exactly for a seed, whatever the number of threads, and differs for another seed', async () => {
    const collect = async (seed: number, workers: number) => {
      const out: number[] = [];
      for await (const batch of imageBatches(items(6), { batchSize: 3, size: 8, augment, seed, workers }))
        out.push(...batch.data);
      return out;
    };
    const first = await collect(1, 2);
    expect(await collect(1, 1)).toEqual(first);
    expect(await collect(2, 2)).not.toEqual(first);
  });

  it('skips and counts corrupt and missing files, or fails under strict', async () => {
    const list: BatchSource[] = [
      { id: 'good0', imagePath: path('quadrants.jpg'), label: 0 },
      { id: 'truncated', imagePath: path('truncated.jpg'), label: 1 },
      { id: 'garbage', imagePath: path('garbage.jpg'), label: 2 },
      { id: 'missing', imagePath: path('missing.jpg'), label: 3 },
      { id: 'good1', imagePath: path('quadrants.webp'), label: 4 },
      { id: 'nothing', label: 5 },
    ];
    const stream = imageBatches(list, { batchSize: 2, size: 4, workers: 2 });
    const ids: string[] = [];
    for await (const batch of stream) {
      ids.push(...batch.ids);
      expect(batch.shape[0]).toBe(batch.ids.length);
    }
    expect(ids).toEqual(['good0', 'good1']);
    expect(stream.summary.skipped).toBe(4);
    expect(stream.summary.reasons.map((r) => r.id)).toEqual(['truncated', 'garbage', 'missing', 'nothing']);
    expect(stream.summary.reasons[2]!.file).toBe(path('missing.jpg'));
    const strict = async () => {
      for await (const _ of imageBatches(list, { batchSize: 2, size: 4, workers: 1, strict: true })) void _;
    };
    const error = await strict().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).file).toBe(path('truncated.jpg'));
  });

  it('says when its threads are ready, and fails that promise when a thread dies', async () => {
    const pool = new DecoderPool(2);
    await pool.ready();
    expect(pool.threadIds).toHaveLength(2);
    const closed = new DecoderPool(1);
    await closed.close();
    await expect(closed.ready()).rejects.toThrow(/closed/);
    await pool.close();
  });

  it('leaves a shared pool open when the consumer stops early', async () => {
    const pool = new DecoderPool(2);
    try {
      for await (const batch of imageBatches(items(20), { batchSize: 2, size: 8, pool, prefetch: 3 })) {
        expect(pool.threadIds).toEqual(expect.arrayContaining(batch.threadIds));
        break;
      }
      const reply = await pool.decode(items(1)[0]!, { size: 8 }, 0);
      expect(reply.data?.length).toBe(8 * 8 * 3);
    } finally {
      await pool.close();
    }
  });
});

/**
 * A separate Node process streams batches, once to the end and once stopping early, then must exit
 * by itself: a thread left running would keep it alive until the timeout.
 */
const CHILD_SCRIPT = (moduleUrl: string, load: string) => `
${load}
const { imageBatches } = await load(${JSON.stringify(moduleUrl)});
const items = JSON.parse(process.argv[2]);
const threads = new Set();
const stream = imageBatches(items, { batchSize: 2, size: 8, workers: 2, augment: { flip: true } });
for await (const batch of stream) for (const id of batch.threadIds) threads.add(id);
for await (const batch of imageBatches(items, { batchSize: 2, size: 8, workers: 2 })) break;
console.log(JSON.stringify({ threads: [...threads].sort(), skipped: stream.summary.skipped }));
`;

describe('worker threads in separate processes', () => {
  const run = promisify(execFile);
  const list = () =>
    JSON.stringify([
      ...Array.from({ length: 5 }, (_, i) => ({ id: `p${i}`, imagePath: path('pattern.png') })),
      { id: 'bad', imagePath: path('garbage.jpg') },
    ]);
  const expectCleanExit = async (script: string) => {
    await writeFile(path('child.mjs'), script);
    const { stdout } = await run(process.execPath, [path('child.mjs'), list()], { timeout: 60_000 });
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as { threads: number[]; skipped: number };
    expect(report.skipped).toBe(1);
    expect(report.threads).toHaveLength(2);
    expect(report.threads).not.toContain(0); // the main thread decoded nothing
  };

  it('run from source (.ts through tsx) and exit cleanly', async () => {
    const tsx = pathToFileURL(join(process.cwd(), 'node_modules/tsx/dist/esm/api/index.mjs')).href;
    const source = pathToFileURL(join(process.cwd(), 'core/data/images.ts')).href;
    await expectCleanExit(
      CHILD_SCRIPT(
        source,
        `import { tsImport } from ${JSON.stringify(tsx)};\nconst load = (url) => tsImport(url, import.meta.url);`,
      ),
    );
  });

  it('run compiled (.js from tsc) and exit cleanly', async () => {
    // Inside node_modules so that the compiled files resolve sharp like dist/ does.
    await mkdir(join(process.cwd(), 'node_modules/.cache'), { recursive: true });
    const outDir = await mkdtemp(join(process.cwd(), 'node_modules/.cache/simkit-images-'));
    try {
      const tsc = join(process.cwd(), 'node_modules/typescript/bin/tsc');
      const flags = [
        '--outDir',
        outDir,
        '--rootDir',
        process.cwd(),
        '--target',
        'ES2022',
        '--module',
        'NodeNext',
        '--moduleResolution',
        'NodeNext',
        '--strict',
        '--skipLibCheck',
        '--types',
        'node',
      ];
      await run(process.execPath, [tsc, ...flags, 'core/data/images.ts', 'core/data/image-worker.ts'], {
        cwd: process.cwd(),
        timeout: 90_000,
      });
      const compiled = pathToFileURL(join(outDir, 'core/data/images.js')).href;
      await expectCleanExit(CHILD_SCRIPT(compiled, 'const load = (url) => import(url);'));
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});

describe('loadImages', () => {
  it('aligns images with items and zeroes unreadable ones', async () => {
    const { data, skipped } = await loadImages(
      [
        { id: 'q', imagePath: path('quadrants.png') },
        { id: 'missing', imagePath: path('missing.png') },
      ],
      { size: 2, channels: 3 },
    );
    expect(skipped).toEqual(['missing']);
    expect(Array.from(data.subarray(0, 12))).toEqual(
      Array.from(await decodeImage({ id: 'q', imagePath: path('quadrants.png') }, { size: 2 })),
    );
    expect(data.subarray(12).every((v) => v === 0)).toBe(true);
  });
});
