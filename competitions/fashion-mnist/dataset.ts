import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { InputError, UserError } from '../../core/errors.js';
import { replaceDirectoryAtomic } from '../../core/io/atomic-write.js';
import { log } from '../../core/log.js';
import { readIdx, writeIdxGz } from './idx.js';

/** Where the Debian package `dataset-fashion-mnist` installs the IDX files. */
export const SYSTEM_DATA_DIR = '/usr/share/datasets/fashion-mnist';

export type SplitName = 'train' | 'test';

/** File names of the original distribution (also the Debian package's). */
export const SPLIT_FILES: Readonly<Record<SplitName, { readonly images: string; readonly labels: string }>> = {
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
};

/** Class names by label (0–9), from the dataset's README. */
export const CLASS_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** One split: `count` images of rows × cols grey pixels, row-major, and their labels. */
export interface Split {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
}

export async function readSplit(dataDir: string, split: SplitName): Promise<Split> {
  const imagesFile = join(dataDir, SPLIT_FILES[split].images);
  const labelsFile = join(dataDir, SPLIT_FILES[split].labels);
  for (const file of [imagesFile, labelsFile]) {
    if (!existsSync(file)) {
      throw new UserError(
        `${file} does not exist`,
        `install the Debian package dataset-fashion-mnist (files in ${SYSTEM_DATA_DIR}) or pass a directory holding ${SPLIT_FILES[split].images}`,
      );
    }
  }
  const images = await readIdx(imagesFile);
  const labels = await readIdx(labelsFile);
  if (images.shape.length !== 3)
    throw new InputError(
      imagesFile,
      undefined,
      'header',
      `expected 3 dimensions (count, rows, cols), got ${images.shape.length}`,
    );
  if (labels.shape.length !== 1)
    throw new InputError(labelsFile, undefined, 'header', `expected 1 dimension (count), got ${labels.shape.length}`);
  const [count, rows, cols] = images.shape as [number, number, number];
  if (labels.shape[0] !== count)
    throw new InputError(
      labelsFile,
      undefined,
      'header',
      `${labels.shape[0]} labels for ${count} images in ${imagesFile}`,
    );
  const bad = labels.data.findIndex((label) => label >= CLASS_NAMES.length);
  if (bad >= 0)
    throw new InputError(
      labelsFile,
      undefined,
      `label ${bad}`,
      `value ${labels.data[bad]}, expected 0–${CLASS_NAMES.length - 1}`,
    );
  return { count, rows, cols, pixels: images.data, labels: labels.data };
}

/** The images at `indices`, in that order, as a new split. */
export function subset(split: Split, indices: readonly number[]): Split {
  const size = split.rows * split.cols;
  const pixels = new Uint8Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  indices.forEach((source, i) => {
    pixels.set(split.pixels.subarray(source * size, (source + 1) * size), i * size);
    labels[i] = split.labels[source]!;
  });
  return { count: indices.length, rows: split.rows, cols: split.cols, pixels, labels };
}

export async function writeSplit(dataDir: string, split: SplitName, data: Split): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await writeIdxGz(join(dataDir, SPLIT_FILES[split].images), {
    shape: [data.count, data.rows, data.cols],
    data: data.pixels,
  });
  await writeIdxGz(join(dataDir, SPLIT_FILES[split].labels), { shape: [data.count], data: data.labels });
}

/** Image i of a split as row-major float32 pixels scaled to [0, 1]. */
export function pixelVectors(split: Split): Float32Array {
  const vectors = new Float32Array(split.pixels.length);
  for (let i = 0; i < split.pixels.length; i++) vectors[i] = split.pixels[i]! / 255;
  return vectors;
}

/**
 * Root of the PNG cache: `SIMKIT_CACHE` when set, else `output/cache` under the working directory
 * (next to the default run outputs, `output/<slug>`).
 */
export function cacheRoot(): string {
  return resolve(process.env.SIMKIT_CACHE ?? join('output', 'cache'));
}

/** The images file's identity (real path, size, modification time): a changed file gets a new cache. */
async function fingerprint(file: string): Promise<string> {
  const info = await stat(file);
  return createHash('sha1')
    .update(`${resolve(file)}\0${info.size}\0${info.mtimeMs}`)
    .digest('hex')
    .slice(0, 12);
}

const PNG_WRITE_CONCURRENCY = 8;

/**
 * PNG files of every image of a split (`<dir>/<index>.png`), written once with sharp and reused:
 * the split is written into a temporary directory that is renamed into place when complete, so a
 * cache directory that exists is always whole.
 */
export async function pngCache(
  dataDir: string,
  split: SplitName,
  data: Split,
): Promise<{ dir: string; path: (index: number) => string }> {
  const dir = join(
    cacheRoot(),
    'fashion-mnist',
    `${split}-${await fingerprint(join(dataDir, SPLIT_FILES[split].images))}`,
  );
  const path = (index: number) => join(dir, `${index}.png`);
  if (existsSync(dir)) return { dir, path };
  log.info(`fashion-mnist: writing ${data.count} ${split} images as PNG into ${dir} (once)`);
  await mkdir(dirname(dir), { recursive: true });
  // Another process may complete the same cache first; theirs is as good as ours.
  await replaceDirectoryAtomic(
    dir,
    async (temp) => {
      const size = data.rows * data.cols;
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < data.count; i = next++) {
          await sharp(data.pixels.subarray(i * size, (i + 1) * size), {
            raw: { width: data.cols, height: data.rows, channels: 1 },
          })
            .toColourspace('b-w')
            .png()
            .toFile(join(temp, `${i}.png`));
        }
      };
      await Promise.all(Array.from({ length: PNG_WRITE_CONCURRENCY }, worker));
    },
    { replace: false },
  );
  return { dir, path };
}
