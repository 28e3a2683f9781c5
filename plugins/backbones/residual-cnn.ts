import * as tf from '@tensorflow/tfjs';
import type { BackboneBuilder, InputShape } from '../../core/contracts/backbone.js';
import { seededInitializers } from '../../core/tensors.js';
import type { Registration } from '../../core/contracts/registration.js';
import { DROPOUT } from '../../core/di/option-ranges.js';
import { UserError } from '../../core/errors.js';
import { embeddingNeck, globalPool, inputShape, type Pooling } from '../../core/models/layers.js';

export interface ResidualCnnOptions {
  /** Channels of each stage; every stage after the first halves the resolution. */
  readonly widths: readonly number[];
  /** Residual blocks per stage: one count for every stage, or one count per stage. */
  readonly blocks: number | readonly number[];
  /**
   * 'stage-conv' (default): each stage opens with a 3×3 conv-BN-ReLU (stride 2 after the first
   * stage), then identity residual blocks. 'resnet': ResNet's stem (7×7 stride-2 conv-BN-ReLU at
   * widths[0], 3×3 stride-2 max-pool), then BasicBlocks; the first block of every later stage
   * strides by 2 and adds a 1×1 conv-BN projection of its input (ResNet-18's layout with
   * blocks [2, 2, 2, 2]).
   */
  readonly style?: 'stage-conv' | 'resnet';
  /** Dropout rate before the embedding layer (0: none). */
  readonly dropout: number;
  /** Global pooling of the last stage: 'average' (default) or 'gem' (generalised mean, learnable p). */
  readonly pooling?: Pooling;
  /**
   * The embedding layer: 'dense' (default, one dense layer), 'bn' (dense → batch-norm) or
   * 'bn-prelu' (dense → batch-norm → PReLU), the neck of core/models/layers.ts.
   */
  readonly neck?: 'dense' | 'bn' | 'bn-prelu';
}

export const RESIDUAL_CNN_DEFAULTS: ResidualCnnOptions = {
  widths: [32, 64],
  blocks: 1,
  style: 'stage-conv',
  dropout: 0,
  pooling: 'average',
  neck: 'dense',
};

const RESIDUAL_CNN_RANGES = { widths: { integer: true, min: 1, each: true }, dropout: DROPOUT } as const;

/** ResNet-18 at its published widths; `widths` scales it (e.g. [32, 64, 128, 256] for small machines). */
export const RESNET18_DEFAULTS: ResidualCnnOptions = {
  widths: [64, 128, 256, 512],
  blocks: [2, 2, 2, 2],
  style: 'resnet',
  dropout: 0,
  pooling: 'average',
  neck: 'dense',
};

type Initializers = ReturnType<typeof seededInitializers>;

interface ConvBn {
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly relu: boolean;
}

function convBn(
  x: tf.SymbolicTensor,
  { filters, kernelSize, strides, relu }: ConvBn,
  init: Initializers,
): tf.SymbolicTensor {
  let y = tf.layers
    .conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: init.he() })
    .apply(x) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ momentum: 0.9 }).apply(y) as tf.SymbolicTensor;
  return relu ? (tf.layers.reLU().apply(y) as tf.SymbolicTensor) : y;
}

/** Two 3×3 conv-BNs added to the input (a 1×1 conv-BN projection of it where stride or width change), then ReLU. */
function basicBlock(x: tf.SymbolicTensor, width: number, strides: number, init: Initializers): tf.SymbolicTensor {
  const branch = convBn(
    convBn(x, { filters: width, kernelSize: 3, strides, relu: true }, init),
    { filters: width, kernelSize: 3, strides: 1, relu: false },
    init,
  );
  const reshaped = strides !== 1 || x.shape.at(-1) !== width;
  const shortcut = reshaped ? convBn(x, { filters: width, kernelSize: 1, strides, relu: false }, init) : x;
  return tf.layers.reLU().apply(tf.layers.add().apply([shortcut, branch])) as tf.SymbolicTensor;
}

function blocksPerStage(options: ResidualCnnOptions): readonly number[] {
  const { blocks, widths } = options;
  if (typeof blocks === 'number') return widths.map(() => blocks);
  if (blocks.length !== widths.length) {
    throw new UserError(
      `residual-cnn: blocks [${blocks.join(', ')}] gives ${blocks.length} stage(s), widths [${widths.join(', ')}] ${widths.length}`,
      'give one block count per width, or a single number for every stage',
    );
  }
  return blocks;
}

/**
 * A residual CNN: strided stages of residual 3×3 blocks in one of two styles (see
 * ResidualCnnOptions.style); global average (or GeM) pooling; dense embedding (or the batch-norm neck).
 */
export function residualCnn(options: ResidualCnnOptions): BackboneBuilder {
  const blocks = blocksPerStage(options);
  return (input: InputShape, embeddingDim: number, seed: number) => {
    const init = seededInitializers(seed);
    const inputs = tf.input({ shape: inputShape(input) });
    let x = inputs;
    if (options.style === 'resnet') {
      x = convBn(x, { filters: options.widths[0]!, kernelSize: 7, strides: 2, relu: true }, init);
      x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
      options.widths.forEach((width, stage) => {
        for (let block = 0; block < blocks[stage]!; block++)
          x = basicBlock(x, width, stage > 0 && block === 0 ? 2 : 1, init);
      });
    } else {
      options.widths.forEach((width, stage) => {
        x = convBn(x, { filters: width, kernelSize: 3, strides: stage === 0 ? 1 : 2, relu: true }, init);
        for (let block = 0; block < blocks[stage]!; block++) x = basicBlock(x, width, 1, init);
      });
    }
    const neck = options.neck ?? 'dense';
    let features = globalPool(x, options.pooling ?? 'average');
    if (neck !== 'dense') {
      const embedding = embeddingNeck(features, {
        embeddingDim,
        prelu: neck === 'bn-prelu',
        dropout: options.dropout,
        seed: seed + 10_000,
      });
      return tf.model({ inputs, outputs: embedding });
    }
    if (options.dropout > 0)
      features = tf.layers.dropout({ rate: options.dropout, seed }).apply(features) as tf.SymbolicTensor;
    const embedding = tf.layers
      .dense({ units: embeddingDim, kernelInitializer: init.glorot() })
      .apply(features) as tf.SymbolicTensor;
    return tf.model({ inputs, outputs: embedding });
  };
}

export const residualCnnBackbone: Registration<BackboneBuilder, ResidualCnnOptions> = {
  name: 'residual-cnn',
  description:
    'residual CNN (strided stages of 3×3 residual blocks, style stage-conv or resnet, global average or GeM pooling, dense or batch-norm embedding neck)',
  defaults: RESIDUAL_CNN_DEFAULTS,
  ranges: RESIDUAL_CNN_RANGES,
  create: residualCnn,
};

export const resnet18Backbone: Registration<BackboneBuilder, ResidualCnnOptions> = {
  name: 'resnet-18',
  description:
    'ResNet-18 (7×7 stride-2 stem and max-pool, BasicBlocks ×[2, 2, 2, 2] with projection shortcuts, batch norm): residual-cnn in style resnet',
  defaults: RESNET18_DEFAULTS,
  ranges: RESIDUAL_CNN_RANGES,
  create: (options) => residualCnn({ ...RESNET18_DEFAULTS, ...options }),
};
