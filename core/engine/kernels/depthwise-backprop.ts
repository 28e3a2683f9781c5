import * as tf from '@tensorflow/tfjs';
import { convGeometry, filterTaps, forwardPadding, spreadGradient } from './conv-geometry.js';
import { wasmKernel } from './kernel-config.js';

/**
 * dW[i,j,c,m] = Σ_{n,p,q} xPad[n, p·s+i·d, q·s+j·d, c] · dy[n,p,q,c·M+m]. With one image whose
 * channels are the (c, n) pairs, that is a depthwise convolution of x with dy (channel
 * multiplier M) as the filter, dilated by the stride, followed by a sum over n.
 */
export const depthwiseBackpropFilterKernel = wasmKernel(
  'DepthwiseConv2dNativeBackpropFilter',
  ['x', 'dy'],
  ({ x, dy }, attrs) => {
    const filterShape = attrs.filterShape as [number, number, number, number];
    const [batch, height, width, channels] = x.shape as [number, number, number, number];
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
  },
);

/**
 * dx is the transposed depthwise convolution: the spread, aligned dy (see spreadGradient)
 * convolved depthwise per (c, m) channel with the flipped filter, then summed over m.
 */
export const depthwiseBackpropInputKernel = wasmKernel(
  'DepthwiseConv2dNativeBackpropInput',
  ['dy', 'filter'],
  ({ dy, filter }, attrs) => {
    const inputShape = attrs.inputShape as [number, number, number, number];
    const [batch, height, width, channels] = inputShape;
    const [filterHeight, filterWidth, , multiplier] = filter.shape as [number, number, number, number];
    const info = convGeometry(inputShape, filter.shape, attrs, true);
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [filterHeight, filterWidth, channels * multiplier, 1]);
    const perChannel = tf.depthwiseConv2d(spreadGradient(dy, info), flipped as tf.Tensor4D, 1, 'valid', 'NHWC', [
      info.dilationHeight,
      info.dilationWidth,
    ]);
    return tf.sum(tf.reshape(perChannel, [batch, height, width, channels, multiplier]), 4);
  },
);
