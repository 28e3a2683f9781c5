import * as tf from '@tensorflow/tfjs';
import { wasmKernel } from './kernel-config.js';

/**
 * Sums the rows of x that share a segment id with one scatter-add (wasm's ScatterNd accumulates
 * duplicate indices), O(rows · row size) instead of one masked pass per segment. Ids outside
 * [0, numSegments) are dropped, as in TensorFlow: they land in one extra row that is cut off.
 */
export const unsortedSegmentSumKernel = wasmKernel(
  'UnsortedSegmentSum',
  ['x', 'segmentIds'],
  ({ x, segmentIds }, attrs) => {
    const numSegments = attrs.numSegments as number;
    const rows = segmentIds.size;
    const rowShape = x.shape.slice(segmentIds.rank);
    const ids = tf.reshape(tf.cast(segmentIds, 'int32'), [rows]);
    const inRange = tf.logicalAnd(tf.greaterEqual(ids, 0), tf.less(ids, numSegments));
    const target = tf.where(inRange, ids, tf.fill([rows], numSegments, 'int32'));
    const sums = tf.scatterND(tf.reshape(target, [rows, 1]), tf.reshape(x, [rows, ...rowShape]), [
      numSegments + 1,
      ...rowShape,
    ]);
    return tf.slice(sums, 0, numSegments);
  },
);
