import * as tf from '@tensorflow/tfjs';
import type { KernelAttrs } from './kernel-config.js';

export type ConvInfo = tf.backend_util.Conv2DInfo;
type Pair = [number, number];
export type Padding4D = [Pair, Pair, Pair, Pair];

/**
 * The forward convolution's geometry (NHWC: a kernel given NCHW tensors transposes them first), as
 * tfjs computes it from a kernel's attributes. The one place a convolution's geometry is computed.
 */
export function convGeometry(
  xShape: number[],
  filterShape: number[],
  attrs: KernelAttrs,
  depthwise: boolean,
): ConvInfo {
  const { strides, pad, dilations, dimRoundingMode } = attrs as unknown as {
    strides: number | Pair;
    pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
    dilations?: number | Pair;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    depthwise,
    'channelsLast',
  );
}

/** The 17 geometry numbers of native/engine's convolutions, when oneDNN's output-size rule agrees with tfjs's. */
export function oneDnnGeometry(info: ConvInfo): number[] | undefined {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } =
    info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth, padInfo, dataFormat } = info;
  if (
    dataFormat !== 'channelsLast' ||
    batchSize * inHeight * inWidth * inChannels * outHeight * outWidth * outChannels === 0
  )
    return undefined;
  const { top, left, bottom, right } = padInfo;
  if (Math.min(top, left, bottom, right) < 0) return undefined;
  const extentH = (filterHeight - 1) * dilationHeight + 1;
  const extentW = (filterWidth - 1) * dilationWidth + 1;
  if (Math.floor((inHeight + top + bottom - extentH) / strideHeight) + 1 !== outHeight) return undefined;
  if (Math.floor((inWidth + left + right - extentW) / strideWidth) + 1 !== outWidth) return undefined;
  return [
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
    dilationHeight,
    dilationWidth,
    top,
    left,
    bottom,
    right,
  ];
}

/**
 * The forward pass's padding as explicit per-side amounts. The bottom/right sides grow where a
 * rounding mode made the output reach past the padded input, so every filter tap of every output
 * position lies inside the padded tensor.
 */
export function forwardPadding(info: ConvInfo): Padding4D {
  const { top, bottom, left, right } = info.padInfo;
  const reachH = (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight;
  const reachW = (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth;
  return [
    [0, 0],
    [top, Math.max(bottom, reachH - info.inHeight - top)],
    [left, Math.max(right, reachW - info.inWidth - left)],
    [0, 0],
  ];
}

/**
 * Both filter gradients reduce to a correlation of the padded input with dy dilated by the
 * stride: its spatial output at offset u is Σ_p xPad[p·stride + u]·dy[p]. The filter taps are the
 * offsets 0, d, 2d… (d = the forward dilation); this picks them from that output ([B, ≥h, ≥w, K]).
 */
export function filterTaps(correlation: tf.Tensor4D, info: ConvInfo): tf.Tensor4D {
  const [batch, , , depth] = correlation.shape;
  return tf.stridedSlice(
    correlation,
    [0, 0, 0, 0],
    [batch, info.effectiveFilterHeight, info.effectiveFilterWidth, depth],
    [1, info.dilationHeight, info.dilationWidth, 1],
  ) as tf.Tensor4D;
}

/**
 * The input gradient of a convolution is a stride-1 correlation of dy with the flipped filter
 * once dy has stride−1 zeros between its rows and columns and is shifted so that output pixel h
 * reads dy rows h+top−(fh−1)·d … h+top. Returns that spread, aligned dy ([N, H+effH−1, W+effW−1, K]);
 * a 'valid' convolution of it with the flipped filter (dilation d) is dx.
 */
export function spreadGradient(dy: tf.Tensor, info: ConvInfo): tf.Tensor4D {
  const [batch, outHeight, outWidth, depth] = dy.shape as [number, number, number, number];
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const spread = tf.reshape(
    tf.pad(tf.reshape(dy, [batch, outHeight, 1, outWidth, 1, depth]), [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]),
    [batch, outHeight * sh, outWidth * sw, depth],
  ) as tf.Tensor4D;
  const { top, left } = info.padInfo;
  return padOrCrop(spread, [fh - 1 - top, fw - 1 - left], [info.inHeight + fh - 1, info.inWidth + fw - 1]);
}

/**
 * Shifts the spatial axes of an NHWC tensor by `before` rows/columns (padding zeros, or cropping
 * where negative) and pads or crops the far side to the `size` wanted.
 */
function padOrCrop(images: tf.Tensor4D, before: number[], size: number[]): tf.Tensor4D {
  const [batch, height, width, depth] = images.shape;
  const cropBefore = before.map((amount) => Math.max(0, -amount));
  const padBefore = before.map((amount) => Math.max(0, amount));
  const kept = [height, width].map((extent, axis) =>
    Math.min(extent - cropBefore[axis]!, size[axis]! - padBefore[axis]!),
  );
  const cropped = tf.slice(images, [0, cropBefore[0]!, cropBefore[1]!, 0], [batch, kept[0]!, kept[1]!, depth]);
  return tf.pad(cropped, [
    [0, 0],
    [padBefore[0]!, size[0]! - padBefore[0]! - kept[0]!],
    [padBefore[1]!, size[1]! - padBefore[1]! - kept[1]!],
    [0, 0],
  ]);
}
