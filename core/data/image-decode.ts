import sharp from 'sharp';
import { Random } from '../random.js';
import {
  centreCropBox,
  colorJitter,
  cutout,
  flipHorizontal,
  randomResizedCropBox,
  resizedCrop,
  rotate,
  type AugmentOptions,
  type Box,
  type FloatImage,
} from './augment.js';

/** Where an item's pixels come from: one image, or one single-channel image per channel. */
export interface ImageSource {
  readonly id: string;
  readonly imagePath?: string;
  readonly channelPaths?: readonly string[];
}

export interface DecodeOptions {
  /** Output size: a square side, or [height, width]. */
  readonly size: number | readonly [height: number, width: number];
  /** 1 (grey) or 3 (RGB) for single-image items; items with channelPaths get one channel per file. Default 3. */
  readonly channels?: number;
  /** 'hwc' (TensorFlow.js, the default) or 'chw'. */
  readonly layout?: 'hwc' | 'chw';
  /** Per-channel normalisation (value − mean) / std of values in [0, 1]; default none (values stay in [0, 1]). */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  /** Random augmentations; they need a seed (see sampleSeed). */
  readonly augment?: AugmentOptions;
}

/** ImageNet statistics, for backbones trained on it. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export function outputShape(
  options: DecodeOptions,
  channels: number,
): { height: number; width: number; channels: number } {
  const [height, width] = typeof options.size === 'number' ? [options.size, options.size] : options.size;
  return { height, width, channels };
}

/** Number of channels an item decodes to. */
export function channelsOf(source: ImageSource, options: DecodeOptions): number {
  return source.channelPaths?.length ?? options.channels ?? 3;
}

/** The files an item is decoded from. */
export function filesOf(source: ImageSource): readonly string[] {
  if (source.channelPaths) return source.channelPaths;
  return source.imagePath === undefined ? [] : [source.imagePath];
}

/**
 * A per-item seed from a stream seed and the item's position, so that an item's augmentation does
 * not depend on which thread decodes it or in which order.
 */
export function sampleSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Decoding that honours the EXIF orientation and fails on truncated data. */
const open = (file: string) => sharp(file, { autoOrient: true, failOn: 'truncated' });

async function decodePlane(file: string, box: Box, width: number, height: number, channels: number): Promise<Buffer> {
  let image = open(file).extract(box).resize(width, height, { fit: 'fill' }).removeAlpha();
  image = channels === 1 ? image.toColourspace('b-w') : image.toColourspace('srgb');
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) throw new Error(`${file} decoded to ${info.channels} channels, expected ${channels}`);
  return data;
}

/**
 * The decoding that is done once per image and may be cached: sharp decodes the file(s), crops the
 * centred box of the output's aspect ratio and resizes it to the output size; bytes, HWC.
 */
export async function decodePixels(source: ImageSource, options: DecodeOptions): Promise<Uint8Array> {
  const files = filesOf(source);
  if (files.length === 0) throw new Error(`item ${source.id} has no image path`);
  const { height, width, channels } = outputShape(options, channelsOf(source, options));
  const oriented = (await open(files[0]!).metadata()).autoOrient;
  const box = centreCropBox(oriented.width, oriented.height, width / height);
  const planeChannels = files.length > 1 ? 1 : channels;
  const planes = await Promise.all(files.map((file) => decodePlane(file, box, width, height, planeChannels)));
  if (planes.length === 1) return new Uint8Array(planes[0]!.buffer, planes[0]!.byteOffset, planes[0]!.length);
  const pixels = new Uint8Array(height * width * channels);
  planes.forEach((plane, p) => {
    for (let i = 0; i < plane.length; i++) pixels[i * planes.length + p] = plane[i]!;
  });
  return pixels;
}

/**
 * What is done to an image's decoded bytes each time it is used: random resized crop (of the
 * decoded image, resampled bilinearly to the output size), flip, rotation, colour jitter,
 * normalisation and cutout, on floats. `seed` drives every random choice; without augmentations it
 * is not used.
 */
export function augmentPixels(pixels: Uint8Array, source: ImageSource, options: DecodeOptions, seed = 0): Float32Array {
  const { height, width, channels } = outputShape(options, channelsOf(source, options));
  if (pixels.length !== height * width * channels)
    throw new Error(`${pixels.length} decoded values for ${height}×${width}×${channels}`);
  const augment = options.augment ?? {};
  const random = new Random(seed);
  let image: FloatImage = { data: new Float32Array(pixels.length), height, width, channels };
  for (let i = 0; i < pixels.length; i++) image.data[i] = pixels[i]! / 255;
  if (augment.crop) image = resizedCrop(image, randomResizedCropBox(width, height, augment.crop, random));
  if (augment.flip && random.next() < 0.5) flipHorizontal(image);
  if (augment.rotate) image = rotate(image, random.uniform(-augment.rotate, augment.rotate));
  if (augment.colorJitter) colorJitter(image, augment.colorJitter, random);
  if (options.mean || options.std) normalise(image, options.mean, options.std);
  if (augment.cutout) cutout(image, augment.cutout, random);
  return options.layout === 'chw' ? toChw(image) : image.data;
}

/** Decodes one item (decodePixels) and augments it (augmentPixels). */
export async function decodeImage(source: ImageSource, options: DecodeOptions, seed = 0): Promise<Float32Array> {
  return augmentPixels(await decodePixels(source, options), source, options, seed);
}

function normalise(image: FloatImage, mean: readonly number[] = [], std: readonly number[] = []): void {
  const { data, channels } = image;
  for (let c = 0; c < channels; c++) {
    const m = mean[c] ?? 0;
    const s = std[c] ?? 1;
    for (let i = c; i < data.length; i += channels) data[i] = (data[i]! - m) / s;
  }
}

function toChw(image: FloatImage): Float32Array {
  const { data, height, width, channels } = image;
  const plane = height * width;
  const out = new Float32Array(data.length);
  for (let p = 0; p < plane; p++) for (let c = 0; c < channels; c++) out[c * plane + p] = data[p * channels + c]!;
  return out;
}
