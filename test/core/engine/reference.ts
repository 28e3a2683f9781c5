// Float64 references written from the convolution formulas, independent of tfjs.
import { Random } from '../../../core/random.js';

/** Float32 inputs (what tfjs holds); the references below accumulate them in float64. */
export function randomArray(size: number, seed: number): Float32Array {
  const random = new Random(seed);
  return Float32Array.from({ length: size }, () => random.uniform(-1, 1));
}

export interface Geometry {
  batch: number;
  height: number;
  width: number;
  channels: number;
  filterHeight: number;
  filterWidth: number;
  stride: number;
  dilation: number;
  pad: 'same' | 'valid';
  outHeight: number;
  outWidth: number;
  top: number;
  left: number;
}

/** TensorFlow's SAME/VALID output size and leading padding for one spatial axis. */
function axis(size: number, filter: number, stride: number, dilation: number, pad: 'same' | 'valid') {
  const effective = (filter - 1) * dilation + 1;
  const out = pad === 'same' ? Math.ceil(size / stride) : Math.ceil((size - effective + 1) / stride);
  const total = pad === 'same' ? Math.max((out - 1) * stride + effective - size, 0) : 0;
  return { out, before: Math.floor(total / 2) };
}

export function geometry(
  [batch, height, width, channels]: number[],
  [filterHeight, filterWidth]: number[],
  stride: number,
  pad: 'same' | 'valid',
  dilation = 1,
): Geometry {
  const rows = axis(height!, filterHeight!, stride, dilation, pad);
  const cols = axis(width!, filterWidth!, stride, dilation, pad);
  return {
    batch: batch!,
    height: height!,
    width: width!,
    channels: channels!,
    filterHeight: filterHeight!,
    filterWidth: filterWidth!,
    stride,
    dilation,
    pad,
    outHeight: rows.out,
    outWidth: cols.out,
    top: rows.before,
    left: cols.before,
  };
}

/**
 * Visits every (image, output position, filter tap) whose input pixel lies inside the image,
 * with flat NHWC offsets of the input pixel (channel 0) and of the output position (channel 0).
 */
function forEachTap(
  g: Geometry,
  visit: (n: number, xBase: number, p: number, q: number, i: number, j: number) => void,
) {
  for (let n = 0; n < g.batch; n++)
    for (let p = 0; p < g.outHeight; p++)
      for (let q = 0; q < g.outWidth; q++)
        for (let i = 0; i < g.filterHeight; i++)
          for (let j = 0; j < g.filterWidth; j++) {
            const h = p * g.stride + i * g.dilation - g.top;
            const w = q * g.stride + j * g.dilation - g.left;
            if (h < 0 || h >= g.height || w < 0 || w >= g.width) continue;
            visit(n, ((n * g.height + h) * g.width + w) * g.channels, p, q, i, j);
          }
}

/** dW[i,j,c,o] = Σ x[n, p·s+i·d−top, q·s+j·d−left, c] · dy[n,p,q,o] for a conv2d with `outChannels`. */
export function conv2dFilterGradient(
  g: Geometry,
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  outChannels: number,
): Float64Array {
  const dw = new Float64Array(g.filterHeight * g.filterWidth * g.channels * outChannels);
  forEachTap(g, (n, xBase, p, q, i, j) => {
    const dyBase = ((n * g.outHeight + p) * g.outWidth + q) * outChannels;
    for (let c = 0; c < g.channels; c++)
      for (let o = 0; o < outChannels; o++)
        dw[((i * g.filterWidth + j) * g.channels + c) * outChannels + o]! += x[xBase + c]! * dy[dyBase + o]!;
  });
  return dw;
}

/** dW[i,j,c,m] = Σ x[n, …, c] · dy[n,p,q,c·M+m] for a depthwise convolution with multiplier M. */
export function depthwiseFilterGradient(
  g: Geometry,
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  multiplier: number,
): Float64Array {
  const dw = new Float64Array(g.filterHeight * g.filterWidth * g.channels * multiplier);
  forEachTap(g, (n, xBase, p, q, i, j) => {
    const dyBase = ((n * g.outHeight + p) * g.outWidth + q) * g.channels * multiplier;
    for (let c = 0; c < g.channels; c++)
      for (let m = 0; m < multiplier; m++)
        dw[((i * g.filterWidth + j) * g.channels + c) * multiplier + m]! +=
          x[xBase + c]! * dy[dyBase + c * multiplier + m]!;
  });
  return dw;
}

/** dx[n,h,w,c] = Σ over the taps that read (h, w) of dy[n,p,q,o] · W[i,j,c,o] for a conv2d. */
export function conv2dInputGradient(
  g: Geometry,
  dy: ArrayLike<number>,
  filter: ArrayLike<number>,
  outChannels: number,
): Float64Array {
  const dx = new Float64Array(g.batch * g.height * g.width * g.channels);
  forEachTap(g, (n, xBase, p, q, i, j) => {
    const dyBase = ((n * g.outHeight + p) * g.outWidth + q) * outChannels;
    for (let c = 0; c < g.channels; c++)
      for (let o = 0; o < outChannels; o++)
        dx[xBase + c]! += dy[dyBase + o]! * filter[((i * g.filterWidth + j) * g.channels + c) * outChannels + o]!;
  });
  return dx;
}

/** dx[n,h,w,c] = Σ over the taps that read (h, w) of dy[n,p,q,c·M+m] · W[i,j,c,m]. */
export function depthwiseInputGradient(
  g: Geometry,
  dy: ArrayLike<number>,
  filter: ArrayLike<number>,
  multiplier: number,
): Float64Array {
  const dx = new Float64Array(g.batch * g.height * g.width * g.channels);
  forEachTap(g, (n, xBase, p, q, i, j) => {
    const dyBase = ((n * g.outHeight + p) * g.outWidth + q) * g.channels * multiplier;
    for (let c = 0; c < g.channels; c++)
      for (let m = 0; m < multiplier; m++)
        dx[xBase + c]! +=
          dy[dyBase + c * multiplier + m]! * filter[((i * g.filterWidth + j) * g.channels + c) * multiplier + m]!;
  });
  return dx;
}

/** y[n,p,q,o] = Σ x[n, p·s+i·d−top, q·s+j·d−left, c] · W[i,j,c,o] (+ bias[o]) for a conv2d. */
export function conv2dForward(
  g: Geometry,
  x: ArrayLike<number>,
  filter: ArrayLike<number>,
  outChannels: number,
  bias?: ArrayLike<number>,
): Float64Array {
  const y = new Float64Array(g.batch * g.outHeight * g.outWidth * outChannels);
  forEachTap(g, (n, xBase, p, q, i, j) => {
    const yBase = ((n * g.outHeight + p) * g.outWidth + q) * outChannels;
    for (let c = 0; c < g.channels; c++)
      for (let o = 0; o < outChannels; o++)
        y[yBase + o]! += x[xBase + c]! * filter[((i * g.filterWidth + j) * g.channels + c) * outChannels + o]!;
  });
  if (bias) y.forEach((value, k) => (y[k] = value + bias[k % outChannels]!));
  return y;
}

/** y[n,p,q,c·M+m] = Σ x[n, p·s+i·d−top, q·s+j·d−left, c] · W[i,j,c,m] (+ bias[c·M+m]) for a depthwise convolution. */
export function depthwiseForward(
  g: Geometry,
  x: ArrayLike<number>,
  filter: ArrayLike<number>,
  multiplier: number,
  bias?: ArrayLike<number>,
): Float64Array {
  const outChannels = g.channels * multiplier;
  const y = new Float64Array(g.batch * g.outHeight * g.outWidth * outChannels);
  forEachTap(g, (n, xBase, p, q, i, j) => {
    const yBase = ((n * g.outHeight + p) * g.outWidth + q) * outChannels;
    for (let c = 0; c < g.channels; c++)
      for (let m = 0; m < multiplier; m++)
        y[yBase + c * multiplier + m]! +=
          x[xBase + c]! * filter[((i * g.filterWidth + j) * g.channels + c) * multiplier + m]!;
  });
  if (bias) y.forEach((value, k) => (y[k] = value + bias[k % outChannels]!));
  return y;
}

/** C[b] = op(A[b]) · op(B[b]) with op a transpose when asked; a batch of one is broadcast. */
export function batchMatMul(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  {
    batchA,
    batchB,
    m,
    n,
    k,
    transposeA,
    transposeB,
  }: { batchA: number; batchB: number; m: number; n: number; k: number; transposeA: boolean; transposeB: boolean },
): Float64Array {
  const batch = Math.max(batchA, batchB);
  const c = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const aBase = (batchA === 1 ? 0 : t) * m * k;
    const bBase = (batchB === 1 ? 0 : t) * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let l = 0; l < k; l++)
          sum += a[aBase + (transposeA ? l * m + i : i * k + l)]! * b[bBase + (transposeB ? j * k + l : l * n + j)]!;
        c[(t * m + i) * n + j] = sum;
      }
  }
  return c;
}

/**
 * Visits every output position of a pooling window (dilation 1) with the flat NHWC offsets (channel
 * 0) of the output and of each input pixel inside the image.
 */
function forEachWindow(g: Geometry, visit: (outBase: number, inputs: number[]) => void): void {
  for (let n = 0; n < g.batch; n++)
    for (let p = 0; p < g.outHeight; p++)
      for (let q = 0; q < g.outWidth; q++) {
        const inputs: number[] = [];
        for (let i = 0; i < g.filterHeight; i++)
          for (let j = 0; j < g.filterWidth; j++) {
            const h = p * g.stride + i - g.top;
            const w = q * g.stride + j - g.left;
            if (h >= 0 && h < g.height && w >= 0 && w < g.width)
              inputs.push(((n * g.height + h) * g.width + w) * g.channels);
          }
        visit(((n * g.outHeight + p) * g.outWidth + q) * g.channels, inputs);
      }
}

/** Max pooling over the pixels inside the image, and its gradient to the first largest pixel of each window. */
export function maxPool(
  g: Geometry,
  x: ArrayLike<number>,
  dy?: ArrayLike<number>,
): { y: Float64Array; dx: Float64Array } {
  const y = new Float64Array(g.batch * g.outHeight * g.outWidth * g.channels);
  const dx = new Float64Array(x.length);
  forEachWindow(g, (outBase, inputs) => {
    for (let c = 0; c < g.channels; c++) {
      let best = -Infinity;
      let at = -1;
      for (const base of inputs) if (x[base + c]! > best) [best, at] = [x[base + c]!, base + c];
      y[outBase + c] = best;
      if (dy && at >= 0) dx[at]! += dy[outBase + c]!;
    }
  });
  return { y, dx };
}

/**
 * Average pooling over the pixels inside the image; tfjs's gradient spreads dy / (window area) over the window's
 * pixels.
 */
export function avgPool(
  g: Geometry,
  x: ArrayLike<number>,
  dy?: ArrayLike<number>,
): { y: Float64Array; dx: Float64Array } {
  const y = new Float64Array(g.batch * g.outHeight * g.outWidth * g.channels);
  const dx = new Float64Array(x.length);
  const area = g.filterHeight * g.filterWidth;
  forEachWindow(g, (outBase, inputs) => {
    for (let c = 0; c < g.channels; c++) {
      for (const base of inputs) y[outBase + c]! += x[base + c]! / inputs.length;
      if (dy) for (const base of inputs) dx[base + c]! += dy[outBase + c]! / area;
    }
  });
  return { y, dx };
}

/** out[s, k] = Σ_{r: ids[r] = s} x[r, k]; ids outside [0, numSegments) are dropped. */
export function segmentSum(x: ArrayLike<number>, ids: number[], numSegments: number): Float64Array {
  const rowSize = x.length / ids.length;
  const out = new Float64Array(numSegments * rowSize);
  ids.forEach((id, row) => {
    if (id < 0 || id >= numSegments) return;
    for (let k = 0; k < rowSize; k++) out[id * rowSize + k]! += x[row * rowSize + k]!;
  });
  return out;
}

/** max |actual − expected| / max |expected|: relative to the gradient's scale, not per element. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let k = 0; k < expected.length; k++) {
    diff = Math.max(diff, Math.abs(actual[k]! - expected[k]!));
    scale = Math.max(scale, Math.abs(expected[k]!));
  }
  return scale === 0 ? diff : diff / scale;
}
