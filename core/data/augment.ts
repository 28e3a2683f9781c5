import type { AugmentOptions, ColorJitterOptions, CropOptions, CutoutOptions } from '../contracts/augment.js';
import type { Random } from '../random.js';

/** An image as floats, height × width × channels (HWC), row-major. */
export interface FloatImage {
  readonly data: Float32Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** A region of an image, in pixels. */
export interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export type { AugmentOptions, ColorJitterOptions, CropOptions, CutoutOptions };

/** The largest centred box of the given aspect ratio (width / height), as a `cover` resize takes. */
export function centreCropBox(width: number, height: number, aspect: number): Box {
  const cropWidth = Math.min(width, Math.round(height * aspect)) || 1;
  const cropHeight = Math.min(height, Math.round(width / aspect)) || 1;
  return {
    left: Math.floor((width - cropWidth) / 2),
    top: Math.floor((height - cropHeight) / 2),
    width: cropWidth,
    height: cropHeight,
  };
}

/**
 * torchvision's RandomResizedCrop box: up to ten draws of area and log-uniform aspect ratio, then a
 * centre crop with the ratio clamped into range.
 */
export function randomResizedCropBox(width: number, height: number, options: CropOptions, random: Random): Box {
  const [minScale, maxScale] = options.scale ?? [0.08, 1];
  const [minRatio, maxRatio] = options.ratio ?? [3 / 4, 4 / 3];
  const area = width * height;
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * random.uniform(minScale, maxScale);
    const aspect = Math.exp(random.uniform(Math.log(minRatio), Math.log(maxRatio)));
    const cropWidth = Math.round(Math.sqrt(targetArea * aspect));
    const cropHeight = Math.round(Math.sqrt(targetArea / aspect));
    if (cropWidth > 0 && cropWidth <= width && cropHeight > 0 && cropHeight <= height) {
      return {
        left: random.int(width - cropWidth + 1),
        top: random.int(height - cropHeight + 1),
        width: cropWidth,
        height: cropHeight,
      };
    }
  }
  const aspect = width / height;
  return centreCropBox(width, height, Math.min(maxRatio, Math.max(minRatio, aspect)));
}

/**
 * The pixels of `box` resampled bilinearly to the image's own size (half-pixel centres, clamped to
 * the box's edge pixels), as a resize of the cropped region.
 */
export function resizedCrop(image: FloatImage, box: Box): FloatImage {
  const { data, height, width, channels } = image;
  const out = new Float32Array(data.length);
  const scaleX = box.width / width;
  const scaleY = box.height / height;
  const clampTo = (v: number, first: number, last: number) => (v < first ? first : v > last ? last : v);
  for (let y = 0; y < height; y++) {
    const sy = clampTo(box.top + (y + 0.5) * scaleY - 0.5, box.top, box.top + box.height - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, box.top + box.height - 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = clampTo(box.left + (x + 0.5) * scaleX - 0.5, box.left, box.left + box.width - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, box.left + box.width - 1);
      const fx = sx - x0;
      for (let c = 0; c < channels; c++) {
        const at = (yy: number, xx: number) => data[(yy * width + xx) * channels + c]!;
        const top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
        const bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
        out[(y * width + x) * channels + c] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return { data: out, height, width, channels };
}

export function flipHorizontal(image: FloatImage): void {
  const { data, height, width, channels } = image;
  for (let y = 0; y < height; y++) {
    const row = y * width * channels;
    for (let x = 0; x < width >> 1; x++) {
      const a = row + x * channels;
      const b = row + (width - 1 - x) * channels;
      for (let c = 0; c < channels; c++) {
        const t = data[a + c]!;
        data[a + c] = data[b + c]!;
        data[b + c] = t;
      }
    }
  }
}

/** Rotation about the image centre (counter-clockwise for positive degrees), bilinear, zero outside. */
export function rotate(image: FloatImage, degrees: number): FloatImage {
  const { data, height, width, channels } = image;
  const out = new Float32Array(data.length);
  const cos = Math.cos((degrees * Math.PI) / 180);
  const sin = Math.sin((degrees * Math.PI) / 180);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const at = (y: number, x: number, c: number) =>
    x < 0 || y < 0 || x >= width || y >= height ? 0 : data[(y * width + x) * channels + c]!;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Inverse mapping: the source point that lands on (x, y). Image y grows downwards.
      const dx = x - cx;
      const dy = y - cy;
      const sx = cx + cos * dx - sin * dy;
      const sy = cy + sin * dx + cos * dy;
      if (sx <= -1 || sy <= -1 || sx >= width || sy >= height) continue;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let c = 0; c < channels; c++) {
        const top = at(y0, x0, c) * (1 - fx) + at(y0, x0 + 1, c) * fx;
        const bottom = at(y0 + 1, x0, c) * (1 - fx) + at(y0 + 1, x0 + 1, c) * fx;
        out[(y * width + x) * channels + c] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return { data: out, height, width, channels };
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/** torchvision's luma weights, used for contrast and saturation of RGB images. */
function luma(data: Float32Array, pixel: number): number {
  return 0.2989 * data[pixel]! + 0.587 * data[pixel + 1]! + 0.114 * data[pixel + 2]!;
}

/** Mean luma of an RGB image; mean value of any other. */
function meanGrey(data: Float32Array, channels: number): number {
  let sum = 0;
  if (channels === 3) for (let p = 0; p < data.length; p += 3) sum += luma(data, p);
  else for (let i = 0; i < data.length; i++) sum += data[i]!;
  return sum / (data.length / (channels === 3 ? 3 : 1));
}

function jitterFactor(amount: number | undefined, random: Random): number | undefined {
  return amount ? random.uniform(Math.max(0, 1 - amount), 1 + amount) : undefined;
}

/**
 * Brightness, contrast and saturation as torchvision's ColorJitter defines them (blend with black,
 * with the mean grey level, with the grey image), on values in [0, 1], in that fixed order.
 * Saturation applies to RGB images only.
 */
export function colorJitter(image: FloatImage, options: ColorJitterOptions, random: Random): void {
  const { data, channels } = image;
  const brightness = jitterFactor(options.brightness, random);
  const contrast = jitterFactor(options.contrast, random);
  const saturation = jitterFactor(options.saturation, random);
  if (brightness !== undefined) for (let i = 0; i < data.length; i++) data[i] = clamp01(data[i]! * brightness);
  if (contrast !== undefined) {
    const mean = meanGrey(data, channels);
    for (let i = 0; i < data.length; i++) data[i] = clamp01(contrast * data[i]! + (1 - contrast) * mean);
  }
  if (saturation !== undefined && channels === 3) {
    for (let p = 0; p < data.length; p += 3) {
      const grey = luma(data, p);
      for (let c = 0; c < 3; c++) data[p + c] = clamp01(saturation * data[p + c]! + (1 - saturation) * grey);
    }
  }
}

/** Zeroes `count` square holes centred at uniform positions (clipped at the borders), as in DeVries & Taylor. */
export function cutout(image: FloatImage, options: CutoutOptions, random: Random): void {
  const { data, height, width, channels } = image;
  const side = Math.max(1, Math.round(options.size * Math.min(height, width)));
  for (let hole = 0; hole < (options.count ?? 1); hole++) {
    const cy = random.int(height);
    const cx = random.int(width);
    const top = Math.max(0, cy - (side >> 1));
    const left = Math.max(0, cx - (side >> 1));
    const bottom = Math.min(height, cy - (side >> 1) + side);
    const right = Math.min(width, cx - (side >> 1) + side);
    for (let y = top; y < bottom; y++) data.fill(0, (y * width + left) * channels, (y * width + right) * channels);
  }
}
