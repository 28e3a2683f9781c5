import * as tf from '@tensorflow/tfjs';
import type { KernelAttrs } from './kernel-config.js';

export type ConvInfo = tf.backend_util.Conv2DInfo;
type Pair = [number, number];
export type Padding4D = [Pair, Pair, Pair, Pair];

/** The forward convolution's geometry (NHWC), as tfjs computes it from a kernel's attributes. */
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
