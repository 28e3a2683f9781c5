import * as tf from '@tensorflow/tfjs';
import { convGeometry, filterTaps, forwardPadding, spreadGradient } from './conv-geometry.js';
import { wasmKernel } from './kernel-config.js';

const TO_NHWC = [0, 2, 3, 1];
const TO_NCHW = [0, 3, 1, 2];

function nhwc(tensor: tf.Tensor, channelsFirst: boolean): tf.Tensor4D {
  return (channelsFirst ? tf.transpose(tensor, TO_NHWC) : tensor) as tf.Tensor4D;
}

/**
 * dW[i,j,c,o] = Σ_{n,p,q} xPad[n, p·s+i, q·s+j, c] · dy[n,p,q,o]. Treating the input channels
 * as a batch and the images as channels, that is one conv2d of x with dy as the filter, dilated by
 * the stride: a single XNNPACK convolution instead of a naive loop.
 */
export const conv2DBackpropFilterKernel = wasmKernel('Conv2DBackpropFilter', ['x', 'dy'], ({ x, dy }, attrs) => {
  const filterShape = attrs.filterShape as [number, number, number, number];
  const channelsFirst = attrs.dataFormat === 'NCHW';
  const input = nhwc(x, channelsFirst);
  const info = convGeometry(input.shape, filterShape, { ...attrs, dilations: 1 }, false);
  const channelsAsBatch = tf.transpose(input, [3, 1, 2, 0]); // [C, H, W, N]
  const gradientAsFilter = tf.transpose(nhwc(dy, channelsFirst), [1, 2, 0, 3]); // [oh, ow, N, O]
  const correlation = tf.conv2d(channelsAsBatch, gradientAsFilter, 1, forwardPadding(info), 'NHWC', [
    info.strideHeight,
    info.strideWidth,
  ]);
  return tf.transpose(filterTaps(correlation, info), [1, 2, 0, 3]); // [fh, fw, C, O]
});

/**
 * dx as one XNNPACK convolution of the spread, aligned dy (see spreadGradient) with the flipped
 * filter, its in/out channels swapped. wasm has this kernel, but a direct loop ≈7× slower
 * (dy 128×14×14×64, filter 3×3×32×64: ≈650 ms against ≈95 ms).
 */
export const conv2DBackpropInputKernel = wasmKernel(
  'Conv2DBackpropInput',
  ['dy', 'filter'],
  ({ dy, filter }, attrs) => {
    const channelsFirst = attrs.dataFormat === 'NCHW';
    const inputShape = attrs.inputShape as [number, number, number, number];
    const nhwcShape = channelsFirst ? TO_NHWC.map((axis) => inputShape[axis]!) : inputShape;
    const info = convGeometry(nhwcShape, filter.shape, { ...attrs, dilations: 1 }, false);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [fh, fw, O, C]
    const dx = tf.conv2d(spreadGradient(nhwc(dy, channelsFirst), info), flipped, 1, 'valid');
    return channelsFirst ? tf.transpose(dx, TO_NCHW) : dx;
  },
);
