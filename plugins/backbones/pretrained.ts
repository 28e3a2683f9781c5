import * as tf from '@tensorflow/tfjs';
import type { BackboneBuilder, InputShape } from '../../core/contracts/backbone.js';
import type { Registration } from '../../core/contracts/registration.js';
import { DROPOUT } from '../../core/di/option-ranges.js';
import { UserError } from '../../core/errors.js';
import {
  embeddingNeck,
  type FeaturePooling,
  globalPool,
  NECK_PREFIX,
  POOLINGS,
  type Pooling,
} from '../../core/models/layers.js';
import {
  GraphFeatures,
  graphFeatureShape,
  graphModelFrom,
  layersModelFrom,
  readModelDirectory,
} from '../../core/models/pretrained.js';

/** The neck between a pretrained network's features and the embedding, shared by every pretrained backbone. */
export interface NeckOptions {
  /** Widths of dense → batch-norm → ReLU layers of the neck before the embedding layer. */
  readonly hidden: readonly number[];
  /** A PReLU after the embedding's batch norm. */
  readonly prelu: boolean;
  /** Dropout rate before the embedding layer (0: none). */
  readonly dropout: number;
}

export interface PretrainedOptions extends NeckOptions {
  /** Local directory holding model.json (a TF.js LayersModel or GraphModel) and its weight files. */
  readonly path: string;
  /** Fine-tune the pretrained layers (true) or keep them frozen (false, default). GraphModels are always frozen. */
  readonly trainable: boolean;
  /**
   * Image side the network expects (null: not checked); checked against the model's input and the pipeline's image
   * size.
   */
  readonly inputSize: number | null;
  /** Pooling of a B×H×W×C feature map (a B×C output is used as it is). */
  readonly pooling: Pooling;
}

export const PRETRAINED_DEFAULTS: PretrainedOptions = {
  path: '',
  trainable: false,
  inputSize: null,
  pooling: 'gem',
  hidden: [],
  prelu: false,
  dropout: 0,
};

/** The pipeline's input shape, after checking it against the network's (null: any size) and inputSize. */
function checkInput(
  path: string,
  expected: readonly (number | null | undefined)[],
  input: InputShape,
  inputSize: number | null,
): number[] {
  const [h, w, c] = expected;
  const dims = `${h ?? '?'}×${w ?? '?'}×${c ?? '?'}`;
  if (inputSize !== null && ((h != null && h !== inputSize) || (w != null && w !== inputSize))) {
    throw new UserError(
      `pretrained model ${path} takes ${dims} inputs, but inputSize is ${inputSize}`,
      `set inputSize to ${h ?? w} or leave it out`,
    );
  }
  const mismatch =
    (h != null && h !== input.height) ||
    (w != null && w !== input.width) ||
    (c != null && c !== input.channels) ||
    (inputSize !== null && (input.height !== inputSize || input.width !== inputSize));
  if (mismatch) {
    throw new UserError(
      `pretrained model ${path} takes ${dims} inputs${inputSize === null ? '' : ` (inputSize ${inputSize})`}, but ` +
        `the pipeline feeds ${input.height}×${input.width}×${input.channels}`,
      `set imageSize to ${h ?? inputSize ?? input.height}${c != null && c !== input.channels ? ` and use ${c}-channel images` : ''}`,
    );
  }
  return [input.height, input.width, input.channels];
}

function unusedName(taken: ReadonlySet<string>, base: string): string {
  for (let i = 0; ; i++) {
    const name = i === 0 ? base : `${base}_${i}`;
    if (![...taken].some((t) => t === name || t.startsWith(`${name}_`))) return name;
  }
}

/**
 * Pools a feature map (rank 4: GeM, average, or flattened) or flattens anything else of rank > 2, then the neck. Its
 * layers are named neck_… (neck_1_… when the network has a layer of that name).
 */
export function neckHead(
  features: tf.SymbolicTensor,
  options: {
    readonly pooling: FeaturePooling;
    readonly hidden: readonly number[];
    readonly prelu: boolean;
    readonly dropout: number;
    readonly embeddingDim: number;
    readonly seed: number;
  },
  taken: ReadonlySet<string>,
): tf.SymbolicTensor {
  const name = unusedName(taken, NECK_PREFIX);
  let x = features;
  if (x.shape.length === 4 && options.pooling !== 'flatten') x = globalPool(x, options.pooling, `${name}_pool`);
  else if (x.shape.length > 2) x = tf.layers.flatten({ name: `${name}_flatten` }).apply(x) as tf.SymbolicTensor;
  return embeddingNeck(x, { ...options, name });
}

/**
 * A pretrained TF.js network read from a local directory, followed by GeM (or average) pooling and
 * the dense + batch-norm neck. A LayersModel is frozen (trainable false: its layers are not trained
 * and its batch norms use their moving statistics) or fine-tuned (trainable true). A GraphModel is
 * a frozen feature extractor only, run inside a GraphFeatures layer.
 */
export function pretrained(options: PretrainedOptions): BackboneBuilder {
  if (!POOLINGS.includes(options.pooling))
    throw new UserError(`pretrained: unknown pooling "${options.pooling}"`, `choose one of: ${POOLINGS.join(', ')}`);
  return (input: InputShape, embeddingDim: number, seed: number) => {
    const directory = readModelDirectory(options.path);
    if (directory.format === 'graph-model') {
      if (options.trainable) {
        throw new UserError(
          `${directory.dir} is a TF.js GraphModel, which cannot be fine-tuned`,
          'set trainable: false, or convert the network to a LayersModel (tensorflowjs_converter --output_format tfjs_layers_model)',
        );
      }
      const graph = graphModelFrom(directory);
      const graphShape = graph.inputs[0]?.shape ?? [];
      const known = (n: number | undefined) => (n === undefined || n < 0 ? null : n);
      const shape = checkInput(
        directory.dir,
        [known(graphShape[1]), known(graphShape[2]), known(graphShape[3])],
        input,
        options.inputSize,
      );
      const inputs = tf.input({ shape });
      const features = new GraphFeatures({
        path: directory.dir,
        featureShape: graphFeatureShape(graph, shape),
        graph,
        name: 'pretrained_graph',
      }).apply(inputs) as tf.SymbolicTensor;
      return tf.model({
        inputs,
        outputs: neckHead(features, { ...options, embeddingDim, seed }, new Set(['pretrained_graph'])),
      });
    }
    const base = layersModelFrom(directory, { frozen: !options.trainable });
    if (base.inputs.length !== 1 || base.outputs.length !== 1) {
      throw new UserError(
        `pretrained model ${directory.dir} has ${base.inputs.length} inputs and ${base.outputs.length} outputs; one of each is needed`,
      );
    }
    checkInput(directory.dir, base.inputs[0]!.shape.slice(1), input, options.inputSize);
    const taken = new Set(base.layers.map((layer) => layer.name));
    return tf.model({
      inputs: base.inputs,
      outputs: neckHead(base.outputs[0]!, { ...options, embeddingDim, seed }, taken),
    });
  };
}

export const pretrainedBackbone: Registration<BackboneBuilder, PretrainedOptions> = {
  name: 'pretrained',
  description:
    'a local TF.js LayersModel (frozen or fine-tuned) or GraphModel (frozen) + GeM/average pooling + batch-norm embedding neck',
  defaults: PRETRAINED_DEFAULTS,
  ranges: {
    inputSize: { integer: true, min: 1, optional: true },
    hidden: { integer: true, min: 1, each: true },
    dropout: DROPOUT,
  },
  create: pretrained,
};
