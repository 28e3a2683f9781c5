import * as tf from '@tensorflow/tfjs';
import { UnitNormalization } from './layers.js';

/**
 * An embedding model as it is handed over: the same layers and weights, its output L2-normalised inside the model
 * (a UnitNormalization layer), so that the model itself outputs the vectors simkit searched. Shares its layers with
 * `model`: dispose only one of the two.
 */
export function normalizedEmbeddingModel(model: tf.LayersModel): tf.LayersModel {
  const [output, ...others] = model.outputs;
  if (!output || others.length > 0 || output.shape.length !== 2)
    throw new Error(`an embedding model has one B×D output, ${model.name} has ${model.outputs.length}`);
  const normalized = new UnitNormalization({ name: 'unit_normalization' }).apply(output) as tf.SymbolicTensor;
  return tf.model({ inputs: model.inputs, outputs: normalized, name: `${model.name}_normalized` });
}

/** The class names of a model's layers that only simkit defines (a converter to Keras needs their Python code). */
export function simkitOnlyLayers(model: tf.LayersModel): string[] {
  const names = model.layers.flatMap((layer): string[] =>
    layer instanceof tf.LayersModel ? simkitOnlyLayers(layer) : [layer.getClassName()],
  );
  return [...new Set(names.filter((name) => name.startsWith('Simkit')))].sort();
}
