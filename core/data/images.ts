import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { InputError } from '../errors.js';
import { log } from '../log.js';

/** Where an item's pixels come from: one image, or one single-channel image per channel. */
export interface ImageSource {
  readonly id: string;
  readonly imagePath?: string;
  readonly channelPaths?: readonly string[];
}

export interface ImageOptions {
  /** Output is size × size (cover resize, centre crop). */
  readonly size: number;
  /** 1 (grey), 3 (RGB), or the number of channelPaths. */
  readonly channels: number;
  /** Unreadable images fail the run instead of being replaced by zeros. */
  readonly strict?: boolean;
  readonly concurrency?: number;
}

export interface LoadedImages {
  /** items.length × size × size × channels, HWC, values in [0, 1]. */
  readonly data: Float32Array;
  /** Ids of items whose image could not be read (their pixels are zero). */
  readonly skipped: readonly string[];
}

async function decodeOne(path: string, size: number, channels: number): Promise<Uint8Array> {
  let image = sharp(path, { failOn: 'error' }).rotate().resize(size, size, { fit: 'cover', position: 'centre' }).removeAlpha();
  image = channels === 1 ? image.toColourspace('b-w') : image.toColourspace('srgb');
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) throw new Error(`decoded ${info.channels} channels, expected ${channels}`);
  return data;
}

/** Decodes one item into `target` (HWC floats in [0, 1]) at `offset`. */
async function decodeInto(item: ImageSource, options: ImageOptions, target: Float32Array, offset: number): Promise<void> {
  const { size, channels } = options;
  if (item.channelPaths) {
    if (item.channelPaths.length !== channels) throw new Error(`${item.channelPaths.length} channel images, expected ${channels}`);
    const planes = await Promise.all(item.channelPaths.map((path) => decodeOne(path, size, 1)));
    for (let pixel = 0; pixel < size * size; pixel++) {
      for (let c = 0; c < channels; c++) target[offset + pixel * channels + c] = planes[c]![pixel]! / 255;
    }
    return;
  }
  if (!item.imagePath) throw new Error('no image path');
  const bytes = await decodeOne(item.imagePath, size, channels);
  for (let i = 0; i < bytes.length; i++) target[offset + i] = bytes[i]! / 255;
}

/**
 * Decodes images with sharp (EXIF orientation honoured), several at a time (libvips decodes on its
 * own threads). An unreadable image becomes zeros and is reported in `skipped`, or fails under `strict`.
 */
export async function loadImages(items: readonly ImageSource[], options: ImageOptions): Promise<LoadedImages> {
  const pixels = options.size * options.size * options.channels;
  const data = new Float32Array(items.length * pixels);
  const skipped: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      const item = items[i]!;
      try {
        await decodeInto(item, options, data, i * pixels);
      } catch (error) {
        const path = item.imagePath ?? item.channelPaths?.join(', ') ?? item.id;
        if (options.strict) throw new InputError(path, undefined, undefined, `cannot decode image: ${(error as Error).message}`);
        data.fill(0, i * pixels, (i + 1) * pixels);
        skipped.push(item.id);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? availableParallelism() * 2 }, worker));
  if (skipped.length > 0) log.warn(`${skipped.length} unreadable image(s) replaced by blank ones (first: ${skipped[0]}); --strict makes this an error`);
  return { data, skipped };
}
