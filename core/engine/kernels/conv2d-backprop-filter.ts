import * as tf from '@tensorflow/tfjs';
import { convGeometry, filterTaps, forwardPadding } from './conv-geometry.js';
import { wasmKernel } from './kernel-config.js';

const TO_NHWC = [0, 2, 3, 1];

/**
 * dW[i,j,c,o] = Σ_{n,p,q} xPad[n, p·s+i, q·s+j, c] · dy[n,p,q,o]. Treating the input channels
 * as a batch and the images as channels, that is one conv2d of x with dy as the filter, dilated by
 * the stride: a single XNNPACK convolution instead of a naive loop.
 */
export const conv2DBackpropFilterKernel = wasmKernel('Conv2DBackpropFilter', ({ x, dy }, attrs) => {
  const filterShape = attrs.filterShape as [number, number, number, number];
  const channelsFirst = attrs.dataFormat === 'NCHW';
  const input = (channelsFirst ? tf.transpose(x, TO_NHWC) : x) as tf.Tensor4D;
  const gradient = (channelsFirst ? tf.transpose(dy, TO_NHWC) : dy) as tf.Tensor4D;
  const info = convGeometry(input.shape, filterShape, { ...attrs, dilations: 1 }, false);
  const channelsAsBatch = tf.transpose(input, [3, 1, 2, 0]); // [C, H, W, N]
  const gradientAsFilter = tf.transpose(gradient, [1, 2, 0, 3]); // [oh, ow, N, O]
  const correlation = tf.conv2d(channelsAsBatch, gradientAsFilter, 1, forwardPadding(info), 'NHWC', [
    info.strideHeight,
    info.strideWidth,
  ]);
  return tf.transpose(filterTaps(correlation, info), [1, 2, 0, 3]); // [fh, fw, C, O]
});
