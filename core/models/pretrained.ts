import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import { FrozenBatchNormalization } from './layers.js';

/**
 * Loading pretrained TF.js models from a local directory, synchronously (a backbone builder is
 * synchronous): model.json + its weight files are read with node:fs and decoded in memory, no
 * tfjs-node and no network. A LayersModel (format "layers-model", or a Keras topology) becomes
 * ordinary layers that can be frozen or fine-tuned; a GraphModel (format "graph-model") can only be
 * a frozen feature extractor, wrapped in the GraphFeatures layer.
 */

export type PretrainedFormat = 'layers-model' | 'graph-model';

interface WeightsGroup {
  readonly paths: readonly string[];
  readonly weights: readonly tf.io.WeightsManifestEntry[];
}

export interface ModelDirectory {
  readonly dir: string;
  readonly format: PretrainedFormat;
  /** The parsed model.json. */
  readonly json: {
    modelTopology: Record<string, unknown>;
    weightsManifest?: WeightsGroup[];
    format?: string;
    [key: string]: unknown;
  };
  readonly weightSpecs: tf.io.WeightsManifestEntry[];
  /** All weight files of all groups, concatenated in manifest order (as TF.js's loaders do). */
  readonly weightData: ArrayBuffer;
}

const HINT =
  'pass the directory of a TF.js model: model.json (a LayersModel, or a GraphModel with "format": "graph-model") next to the weight files it lists';

/** Reads and checks a model directory; every problem is a UserError naming the file. */
export function readModelDirectory(path: string): ModelDirectory {
  if (!path) throw new UserError('the pretrained backbone needs a "path" option', HINT);
  const dir = resolve(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UserError(`pretrained model directory ${dir} does not exist`, HINT);
  const jsonFile = join(dir, 'model.json');
  if (!existsSync(jsonFile)) throw new UserError(`${jsonFile} is missing`, HINT);
  let json: ModelDirectory['json'];
  try {
    json = JSON.parse(readFileSync(jsonFile, 'utf8')) as ModelDirectory['json'];
  } catch (error) {
    throw new UserError(`${jsonFile} is not valid JSON: ${(error as Error).message}`, HINT, 1);
  }
  const topology = json?.modelTopology;
  if (!topology || typeof topology !== 'object') throw new UserError(`${jsonFile} has no modelTopology`, HINT, 1);
  let format: PretrainedFormat;
  if (
    json.format === 'graph-model' ||
    (json.format === undefined && Array.isArray((topology as { node?: unknown }).node))
  )
    format = 'graph-model';
  else if (
    json.format === 'layers-model' ||
    (json.format === undefined && ('class_name' in topology || 'model_config' in topology))
  )
    format = 'layers-model';
  else
    throw new UserError(
      `${jsonFile} has an unknown model format${json.format ? ` "${String(json.format)}"` : ''}`,
      'expected "layers-model" or "graph-model" (TF.js formats; convert SavedModels or Keras files with tensorflowjs_converter)',
      1,
    );

  const groups = json.weightsManifest ?? [];
  const buffers: Uint8Array[] = [];
  for (const group of groups) {
    for (const file of group.paths) {
      const weightFile = join(dir, file);
      if (!existsSync(weightFile)) throw new UserError(`${weightFile} (listed in ${jsonFile}) is missing`, HINT, 1);
      buffers.push(readFileSync(weightFile));
    }
  }
  const total = buffers.reduce((sum, b) => sum + b.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const buffer of buffers) {
    weightData.set(buffer, offset);
    offset += buffer.byteLength;
  }
  return { dir, format, json, weightSpecs: groups.flatMap((g) => [...g.weights]), weightData: weightData.buffer };
}

/** TF.js's convertPythonicToTs: snake_case keys (and string values) to camelCase, layer names kept. */
function pythonicToTs(value: unknown, key?: string): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (typeof value === 'string') return camel(value);
  if (typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    return value.map((item, index) =>
      (key === 'inboundNodes' || key === 'outputLayers' || key === 'inputLayers') &&
      index === 0 &&
      typeof item === 'string'
        ? item
        : pythonicToTs(item, key),
    );
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'name' && typeof v === 'string') out[k] = v;
    else {
      const tsKey = camel(k);
      out[tsKey] = pythonicToTs(v, tsKey);
    }
  }
  return out;
}

function camel(identifier: string): string {
  if (identifier.length <= 1 || !identifier.includes('_')) return identifier;
  return identifier.replace(/[_]+(\w|$)/g, (_m, c: string) => c.toUpperCase());
}

export interface LoadLayersOptions {
  /**
   * Freeze the model: every layer non-trainable and every BatchNormalization replaced by
   * FrozenBatchNormalization (moving statistics only, never updated). Default false.
   */
  readonly frozen?: boolean;
}

/** A LayersModel from a directory read by readModelDirectory, built synchronously with its weights. */
export function layersModelFrom(directory: ModelDirectory, options: LoadLayersOptions = {}): tf.LayersModel {
  if (directory.format !== 'layers-model')
    throw new UserError(`${directory.dir} holds a ${directory.format}, not a LayersModel`);
  let topology = directory.json.modelTopology;
  if (topology['model_config']) topology = topology['model_config'] as Record<string, unknown>;
  const config = pythonicToTs(topology) as { className: string; config: tf.serialization.ConfigDict };
  if (options.frozen) replaceBatchNorm(config);
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[config.className];
  if (!entry)
    throw new UserError(
      `${directory.dir}/model.json: unknown model class "${config.className}"`,
      'expected a TF.js LayersModel (Sequential, Model or Functional)',
      1,
    );
  let model: tf.LayersModel;
  try {
    const fromConfig = entry[1] as unknown as (
      cls: unknown,
      config: tf.serialization.ConfigDict,
      customObjects: tf.serialization.ConfigDict,
      fastWeightInit: boolean,
    ) => tf.LayersModel;
    model = fromConfig(entry[0], config.config, {}, true);
  } catch (error) {
    throw new UserError(
      `cannot build the model of ${directory.dir}/model.json: ${(error as Error).message.split('\n')[0]}`,
      'custom layers must be registered with tf.serialization.registerClass before loading',
      1,
    );
  }
  const values = tf.io.decodeWeights(directory.weightData, directory.weightSpecs);
  try {
    const byName: tf.NamedTensorMap = {};
    for (const weight of model.weights) {
      const value = values[weight.originalName];
      if (!value) throw new UserError(`${directory.dir}: the weight files have no "${weight.originalName}"`, HINT, 1);
      byName[weight.originalName] = value;
    }
    model.loadWeights(byName, true);
  } finally {
    tf.dispose(Object.values(values));
  }
  if (options.frozen) for (const layer of model.layers) layer.trainable = false;
  return model;
}

function replaceBatchNorm(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) return node.forEach(replaceBatchNorm);
  const record = node as Record<string, unknown>;
  if (record['className'] === 'BatchNormalization' && record['config'] && typeof record['config'] === 'object')
    record['className'] = FrozenBatchNormalization.className;
  for (const value of Object.values(record)) replaceBatchNorm(value);
}

/** A GraphModel from a directory read by readModelDirectory (synchronously). */
export type LoadedGraphModel = ReturnType<typeof tf.loadGraphModelSync>;

export function graphModelFrom(directory: ModelDirectory): LoadedGraphModel {
  if (directory.format !== 'graph-model')
    throw new UserError(`${directory.dir} holds a ${directory.format}, not a GraphModel`);
  try {
    return tf.loadGraphModelSync({
      modelTopology: directory.json.modelTopology,
      weightSpecs: directory.weightSpecs,
      weightData: directory.weightData,
      format: 'graph-model',
      ...(directory.json['signature'] ? { signature: directory.json['signature'] } : {}),
      ...(directory.json['userDefinedMetadata']
        ? { userDefinedMetadata: directory.json['userDefinedMetadata'] as Record<string, object> }
        : {}),
    });
  } catch (error) {
    throw new UserError(
      `cannot load the graph model of ${directory.dir}: ${(error as Error).message.split('\n')[0]}`,
      HINT,
      1,
    );
  }
}

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export interface GraphFeaturesArgs extends LayerArgs {
  /** Absolute path of the graph model's directory; the layer's config stores it, not the weights. */
  readonly path: string;
  /** Shape of one output row (without the batch dimension). */
  readonly featureShape: number[];
  /** The graph model already loaded from `path` (not part of the config); loaded from `path` when absent. */
  readonly graph?: LoadedGraphModel;
}

/**
 * A frozen TF.js GraphModel as a layer: call() executes the graph on its input. TF.js GraphModels
 * cannot be trained (their weights are constants, not variables), so the layer has no weights and
 * no gradient reaches anything before it; it must be the first layer of a model. A model saved
 * with it stores the graph model's path, and loading the model reads the graph from that path
 * again (it must still exist).
 */
export class GraphFeatures extends tf.layers.Layer {
  static readonly className = 'SimkitGraphFeatures';
  readonly path: string;
  readonly featureShape: number[];
  private readonly graph: LoadedGraphModel;

  constructor(args: GraphFeaturesArgs) {
    const { graph, ...rest } = args;
    super({ ...rest, trainable: false });
    this.path = args.path;
    this.featureShape = [...args.featureShape];
    this.graph = graph ?? graphModelFrom(readModelDirectory(args.path));
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0]!, ...this.featureShape];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const out = this.graph.execute(x);
    return Array.isArray(out) ? out[0]! : out;
  }

  override getConfig(): tf.serialization.ConfigDict {
    // TF.js snake-cases string values on save and camel-cases them on load, which would change a
    // path like /data/My_Models; hex digits survive both.
    return {
      ...super.getConfig(),
      pathHex: Buffer.from(this.path, 'utf8').toString('hex'),
      featureShape: this.featureShape,
    };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const { pathHex, ...rest } = config as { pathHex?: string; path?: string } & tf.serialization.ConfigDict;
    return new cls({
      ...rest,
      path: typeof pathHex === 'string' ? Buffer.from(pathHex, 'hex').toString('utf8') : rest['path'],
    });
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    const result = super.dispose();
    if (result.refCountAfterDispose === 0) this.graph.dispose();
    return result;
  }
}

tf.serialization.registerClass(GraphFeatures);

/** The output shape (without batch) of a graph model on a zero input of the given shape (without batch). */
export function graphFeatureShape(graph: LoadedGraphModel, inputShape: readonly number[]): number[] {
  return tf.tidy(() => {
    const out = graph.execute(tf.zeros([1, ...inputShape]));
    return (Array.isArray(out) ? out[0]! : out).shape.slice(1);
  });
}
