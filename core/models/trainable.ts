import type * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';

/**
 * Which layers of `layers` (in order) train: none (false), all (true), or the named layer and every
 * one after it. Layers outside `layers` keep their setting. Returns how many layers now train.
 */
export function setTrainableFrom(
  layers: tf.LayersModel | readonly tf.layers.Layer[],
  trainable: boolean | string,
): number {
  const list = Array.isArray(layers) ? (layers as readonly tf.layers.Layer[]) : (layers as tf.LayersModel).layers;
  const from = trainable === true ? 0 : trainable === false ? list.length : list.findIndex((l) => l.name === trainable);
  if (from < 0) {
    const named = list.filter((l) => l.weights.length > 0).map((l) => l.name);
    throw new UserError(
      `cannot unfreeze from "${String(trainable)}": the network has no layer of that name`,
      `layers with weights, in order: ${named.slice(0, 12).join(', ')}${named.length > 12 ? `, … ${named.at(-1)}` : ''}`,
    );
  }
  list.forEach((layer, i) => (layer.trainable = i >= from));
  return list.length - from;
}
