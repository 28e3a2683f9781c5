import * as tf from '@tensorflow/tfjs';
import { convGeometry, filterTaps, forwardPadding } from './conv-geometry.js';
import { wasmKernel } from './kernel-config.js';

/**
 * dW[i,j,c,m] = Σ_{n,p,q} xPad[n, p·s+i·d, q·s+j·d, c] · dy[n,p,q,c·M+m]. With one image whose
 * channels are the (c, n) pairs, that is a depthwise convolution of x with dy (channel
 * multiplier M) as the filter, dilated by the stride, followed by a sum over n.
 */
export const depthwiseBackpropFilterKernel = wasmKernel('DepthwiseConv2dNativeBackpropFilter', ({ x, dy }, attrs) => {
  const filterShape = attrs.filterShape as [number, number, number, number];
  const [batch, height, width, channels] = x.shape;
  const multiplier = filterShape[3];
  const info = convGeometry(x.shape, filterShape, attrs, true);
  const pairsAsChannels = tf.reshape(tf.transpose(x, [1, 2, 3, 0]), [1, height, width, channels * batch]);
  const gradientAsFilter = tf.reshape(
    tf.transpose(tf.reshape(dy, [batch, info.outHeight, info.outWidth, channels, multiplier]), [1, 2, 3, 0, 4]),
    [info.outHeight, info.outWidth, channels * batch, multiplier],
  );
  const correlation = tf.depthwiseConv2d(
    pairsAsChannels as tf.Tensor4D,
    gradientAsFilter as tf.Tensor4D,
    1,
    forwardPadding(info),
    'NHWC',
    [info.strideHeight, info.strideWidth],
  );
  const taps = filterTaps(correlation, info); // [1, fh, fw, C·N·M]
  return tf.sum(tf.reshape(taps, [info.filterHeight, info.filterWidth, channels, batch, multiplier]), 3);
});

/**
 * dx is the transposed depthwise convolution: dy with stride−1 zeros inserted between its rows
 * and columns, padded so the flipped filter lines up, convolved depthwise per (c, m) channel and
 * summed over the multiplier m.
 */
export const depthwiseBackpropInputKernel = wasmKernel('DepthwiseConv2dNativeBackpropInput', ({ dy, filter }, attrs) => {
  const inputShape = attrs.inputShape as [number, number, number, number];
  const [batch, height, width, channels] = inputShape;
  const [filterHeight, filterWidth, , multiplier] = filter.shape;
  const info = convGeometry(inputShape, filter.shape, attrs, true);
  const { strideHeight: sh, strideWidth: sw } = info;
  const depth = channels * multiplier;
  const spread = tf.reshape(
    tf.pad(tf.reshape(dy, [batch, info.outHeight, 1, info.outWidth, 1, depth]), [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]),
    [batch, info.outHeight * sh, info.outWidth * sw, depth],
  );
  const [, [top], [left]] = forwardPadding(info);
  const before = [info.effectiveFilterHeight - 1 - top, info.effectiveFilterWidth - 1 - left];
  const needed = [height + info.effectiveFilterHeight - 1, width + info.effectiveFilterWidth - 1];
  const aligned = padOrCrop(spread, before, needed);
  const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [filterHeight, filterWidth, depth, 1]);
  const perChannel = tf.depthwiseConv2d(aligned as tf.Tensor4D, flipped as tf.Tensor4D, 1, 'valid', 'NHWC', [
    info.dilationHeight,
    info.dilationWidth,
  ]);
  return tf.sum(tf.reshape(perChannel, [batch, height, width, channels, multiplier]), 4);
});

/**
 * Shifts the spatial axes of an NHWC tensor by `before` rows/columns (padding zeros, or cropping
 * where negative) and pads or crops the far side to the `size` wanted.
 */
function padOrCrop(images: tf.Tensor, before: number[], size: number[]): tf.Tensor4D {
  const [batch, height, width, depth] = images.shape as [number, number, number, number];
  const cropBefore = before.map((amount) => Math.max(0, -amount));
  const padBefore = before.map((amount) => Math.max(0, amount));
  const kept = [height, width].map((extent, axis) =>
    Math.min(extent - cropBefore[axis]!, size[axis]! - padBefore[axis]!),
  );
  const cropped = tf.slice(images as tf.Tensor4D, [0, cropBefore[0]!, cropBefore[1]!, 0], [batch, kept[0]!, kept[1]!, depth]);
  return tf.pad(cropped, [
    [0, 0],
    [padBefore[0]!, size[0]! - padBefore[0]! - kept[0]!],
    [padBefore[1]!, size[1]! - padBefore[1]! - kept[1]!],
    [0, 0],
  ]);
}
