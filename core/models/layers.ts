import * as tf from '@tensorflow/tfjs';
import { l2Normalize, seededInitializers } from '../tensors.js';
import type { InputShape } from '../contracts/backbone.js';

/**
 * Custom layers of simkit's backbones and the embedding neck they share. Every layer here is
 * registered with tf.serialization.registerClass when this module loads, so a model saved with
 * core/models/io.ts saveModel loads back (io.ts imports this module for that reason).
 */

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = Record<string, unknown>;
type Shape = tf.Shape;

function one(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

function oneShape(shape: Shape | Shape[]): Shape {
  return Array.isArray(shape[0]) ? (shape as Shape[])[0]! : (shape as Shape);
}

export interface GeMPoolingArgs extends LayerArgs {
  /** Initial exponent p (default 3): p = 1 is average pooling, p → ∞ approaches max pooling. */
  readonly p?: number;
  /** Activations are clamped to at least eps before the power (default 1e-6), so x^p and log x stay finite. */
  readonly eps?: number;
  /** Whether p is learned (default true). */
  readonly trainableP?: boolean;
}

/**
 * Generalised-mean (GeM) pooling over height and width of a channels-last B×H×W×C tensor:
 * y_c = (mean_hw max(x, eps)^p)^(1/p), with one learnable exponent p shared by all channels
 * (Radenović et al., 2018). Computed as exp(log(mean(exp(p·log x))) / p), whose gradients wrt x
 * and p are those of the formula.
 */
export class GeMPooling2D extends tf.layers.Layer {
  static readonly className = 'SimkitGeMPooling2D';
  readonly initialP: number;
  readonly eps: number;
  readonly trainableP: boolean;
  private p?: tf.LayerVariable;

  constructor(args: GeMPoolingArgs = {}) {
    super(args);
    this.initialP = args.p ?? 3;
    this.eps = args.eps ?? 1e-6;
    this.trainableP = args.trainableP ?? true;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = oneShape(inputShape);
    if (shape.length !== 4) throw new Error(`GeMPooling2D expects B×H×W×C inputs, got shape [${shape.join(', ')}]`);
    this.p = this.addWeight(
      'p',
      [1],
      'float32',
      tf.initializers.constant({ value: this.initialP }),
      undefined,
      this.trainableP,
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = oneShape(inputShape);
    return [shape[0]!, shape[3]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const p = this.p!.read();
      const powered = tf.exp(tf.mul(tf.log(tf.maximum(x, this.eps)), p));
      return tf.exp(tf.div(tf.log(tf.mean(powered, [1, 2])), p));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), p: this.initialP, eps: this.eps, trainableP: this.trainableP };
  }
}

export interface EmbeddingBagArgs extends LayerArgs {
  /** Rows of the table: ids 0..inputDim − 1, where id 0 is padding and never contributes. */
  readonly inputDim: number;
  readonly outputDim: number;
  /** Seed of the uniform(−0.05, 0.05) initialiser of the table (Keras' Embedding default). */
  readonly seed?: number;
}

/**
 * An embedding bag: B×T integer ids → the mean of the embeddings of each row's non-zero ids
 * (B×outputDim). Id 0 is padding: it is masked out of both the sum and the count, and a row of
 * padding only is the zero vector. Ids above inputDim − 1 are clamped to the last row (the
 * featuriser core/data/text.ts hashedTokenIds never produces them). Float ids are cast to int32.
 */
export class EmbeddingBag extends tf.layers.Layer {
  static readonly className = 'SimkitEmbeddingBag';
  readonly inputDim: number;
  readonly outputDim: number;
  readonly seed: number | undefined;
  private embeddings?: tf.LayerVariable;

  constructor(args: EmbeddingBagArgs) {
    super(args);
    this.inputDim = args.inputDim;
    this.outputDim = args.outputDim;
    this.seed = args.seed;
  }

  override build(_inputShape: Shape | Shape[]): void {
    const init = tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: this.seed });
    this.embeddings = this.addWeight('embeddings', [this.inputDim, this.outputDim], 'float32', init);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [oneShape(inputShape)[0]!, this.outputDim];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const flat = x.rank === 2 ? x : x.reshape([x.shape[0], -1]);
      const zero = tf.scalar(0, 'int32');
      const ids = tf.minimum(
        tf.maximum(flat.dtype === 'int32' ? flat : tf.cast(flat, 'int32'), zero),
        tf.scalar(this.inputDim - 1, 'int32'),
      );
      const mask = tf.cast(tf.greater(ids, zero), 'float32');
      const vectors = tf.gather(this.embeddings!.read(), ids);
      const sum = tf.sum(tf.mul(vectors, tf.expandDims(mask, 2)), 1);
      return tf.div(sum, tf.maximum(tf.sum(mask, 1, true), 1));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      inputDim: this.inputDim,
      outputDim: this.outputDim,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}

type LayerClass = typeof tf.layers.Layer;
const BatchNormalization = tf.serialization.SerializationMap.getMap().classNameMap[
  'BatchNormalization'
]![0] as unknown as LayerClass;

/**
 * Batch normalisation that always uses its moving statistics and never updates them, also in
 * training mode: a frozen pretrained network stays the same function while its neck trains.
 * (TF.js's own BatchNormalization keeps using batch statistics and updating the moving averages
 * in training mode even when trainable is false.) Its weights are those of BatchNormalization.
 */
export class FrozenBatchNormalization extends BatchNormalization {
  static readonly className = 'SimkitFrozenBatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    return super.call(inputs, { ...kwargs, training: false });
  }
}

/**
 * L2 normalisation of each row of a B×D tensor, x / sqrt(Σx² + 1e-12): l2Normalize, the computation that makes the
 * vectors simkit searches. Saved under Keras' own class name and config (`UnitNormalization`, axis −1, TensorFlow
 * 2.9 and later), so that a model ending in it converts to Keras without simkit's code.
 */
export class UnitNormalization extends tf.layers.Layer {
  static readonly className = 'UnitNormalization';

  constructor(args: LayerArgs & { readonly axis?: number | readonly number[] } = {}) {
    const { axis = -1, ...rest } = args;
    if (axis !== -1 && axis !== 1)
      throw new Error(`UnitNormalization normalises the last axis of B×D tensors only, got axis ${String(axis)}`);
    super(rest);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return oneShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return l2Normalize(one(inputs) as tf.Tensor2D);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), axis: -1 };
  }
}

tf.serialization.registerClass(GeMPooling2D);
tf.serialization.registerClass(EmbeddingBag);
tf.serialization.registerClass(FrozenBatchNormalization);
tf.serialization.registerClass(UnitNormalization);

export type Pooling = 'gem' | 'average';
export const POOLINGS: readonly Pooling[] = ['gem', 'average'];
/** A global pooling, or the whole map flattened (its position information kept, for a dense neck). */
export type FeaturePooling = Pooling | 'flatten';
export const FEATURE_POOLINGS: readonly FeaturePooling[] = [...POOLINGS, 'flatten'];

/** Global pooling of a B×H×W×C feature map to B×C: GeM (learnable p, initially 3) or the average. */
export function globalPool(x: tf.SymbolicTensor, pooling: Pooling, name?: string): tf.SymbolicTensor {
  const layer =
    pooling === 'gem' ? new GeMPooling2D(name ? { name } : {}) : tf.layers.globalAveragePooling2d(name ? { name } : {});
  return layer.apply(x) as tf.SymbolicTensor;
}

/** Names of the layers a backbone adds after a pretrained network start with this (fine-tuning tells them apart). */
export const NECK_PREFIX = 'neck';

export interface NeckOptions {
  readonly embeddingDim: number;
  /** Widths of dense → batch-norm → ReLU layers before the embedding layer (default none). */
  readonly hidden?: readonly number[];
  /** A PReLU after the embedding's batch norm (default false). */
  readonly prelu?: boolean;
  /** Dropout rate on the neck's input (default 0). */
  readonly dropout?: number;
  /** Seed of the dense kernels' initialisers (and of dropout). */
  readonly seed: number;
  /** Prefix of the neck's layer names (default: TF.js's automatic names). */
  readonly name?: string;
}

/**
 * The embedding neck: [dropout] → (dense → batch-norm → ReLU) per hidden width → dense (no bias)
 * → batch-norm [→ PReLU], whose output is the embedding (B × embeddingDim). The training loop
 * L2-normalises it; the batch norm keeps the embedding's scale even across dimensions.
 */
export function embeddingNeck(features: tf.SymbolicTensor, options: NeckOptions): tf.SymbolicTensor {
  const init = seededInitializers(options.seed);
  const named = (suffix: string) => (options.name ? { name: `${options.name}_${suffix}` } : {});
  let x = features;
  if ((options.dropout ?? 0) > 0)
    x = tf.layers
      .dropout({ rate: options.dropout!, seed: options.seed, ...named('dropout') })
      .apply(x) as tf.SymbolicTensor;
  (options.hidden ?? []).forEach((units, i) => {
    x = tf.layers
      .dense({ units, useBias: false, kernelInitializer: init.he(), ...named(`hidden${i}`) })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ momentum: 0.9, ...named(`hidden${i}_bn`) }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU(named(`hidden${i}_relu`)).apply(x) as tf.SymbolicTensor;
  });
  x = tf.layers
    .dense({ units: options.embeddingDim, useBias: false, kernelInitializer: init.glorot(), ...named('embedding') })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ momentum: 0.9, ...named('embedding_bn') }).apply(x) as tf.SymbolicTensor;
  if (options.prelu)
    x = tf.layers
      .prelu({ alphaInitializer: tf.initializers.constant({ value: 0.25 }), ...named('embedding_prelu') })
      .apply(x) as tf.SymbolicTensor;
  return x;
}

/** The Keras input shape of `input`: height and width left open (null) when the model must take any size. */
export function inputShape(input: InputShape): (number | null)[] {
  return [input.anySize ? null : input.height, input.anySize ? null : input.width, input.channels];
}
