/**
 * Training-mode batch normalisation and ReLU's gradient on the native backend, each one kernel
 * where tfjs composes many. tfjs-layers' BatchNormalization in training mode computes the batch
 * moments with tf.moments and normalises with tf.batchNorm; their forward and backward passes are
 * about twenty kernels, each a pass over the activation. On the native backend the layer instead
 * runs BATCH_NORM_TRAINING (moments, normalisation and the moving averages' update) and its
 * gradient BATCH_NORM_TRAINING_GRAD (the input, scale and offset gradients, through the batch
 * statistics): four passes in all.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeEngineAddon } from './addon.js';
import { overrideGradient } from './gradients.js';
import { NATIVE_BACKEND, runMultiOutput, size, type WasmHeapBackend } from './kernels.js';

/**
 * Outputs y, mean, variance, new moving mean, new moving variance: x normalised with its own batch
 * statistics over every axis but the last, and the moving averages moved towards them by `decay`.
 */
export const BATCH_NORM_TRAINING = 'SimkitBatchNormTraining';
/** Outputs dx, dScale, dOffset of BATCH_NORM_TRAINING's output. */
export const BATCH_NORM_TRAINING_GRAD = 'SimkitBatchNormTrainingGrad';
/** Outputs dy where x > 0, else 0. */
export const RELU_GRAD = 'SimkitReluGrad';

type Tensors = Readonly<Record<string, tf.TensorInfo | undefined>>;

/** The float32 inputs of a training kernel, or an error naming the kernel and what it got. */
function float32Inputs<Name extends string>(
  kernelName: string,
  inputs: Tensors,
  names: readonly Name[],
): Record<Name, tf.TensorInfo> {
  const missing = names.filter((name) => inputs[name]?.dtype !== 'float32');
  if (missing.length > 0) throw new Error(`${kernelName}: ${missing.join(', ')} must be float32 tensors`);
  return inputs as Record<Name, tf.TensorInfo>;
}

/** The per-channel inputs of a batch-norm kernel must hold one value per channel of x's last axis. */
function channelsOf(kernelName: string, x: tf.TensorInfo, vectors: readonly tf.TensorInfo[]): number {
  const channels = x.shape.at(-1) ?? 0;
  if (x.shape.length < 2 || channels === 0 || vectors.some((v) => size(v.shape) !== channels))
    throw new Error(
      `${kernelName}: needs x of rank ≥ 2 and vectors of its last dimension, got x [${x.shape}] and ${vectors
        .map((v) => `[${v.shape}]`)
        .join(', ')}`,
    );
  return channels;
}

const offsetsOf = (backend: WasmHeapBackend, tensors: readonly tf.TensorInfo[]): number[] =>
  tensors.map((t) => backend.dataIdMap.get(t.dataId).memoryOffset);

const epsilonOf = (attrs: tf.NamedAttrMap | undefined): number => Number(attrs?.varianceEpsilon ?? 0.001);

function batchNormTrainingKernel(addon: NativeEngineAddon): tf.KernelConfig {
  return {
    kernelName: BATCH_NORM_TRAINING,
    backendName: NATIVE_BACKEND,
    kernelFunc: ({ inputs, attrs, backend: kernelBackend }) => {
      const backend = kernelBackend as unknown as WasmHeapBackend;
      const names = ['x', 'scale', 'offset', 'movingMean', 'movingVariance'] as const;
      const tensors = float32Inputs(BATCH_NORM_TRAINING, inputs, names);
      const { x, ...vectors } = tensors;
      const channels = channelsOf(BATCH_NORM_TRAINING, x, Object.values(vectors));
      const at = offsetsOf(
        backend,
        names.map((name) => tensors[name]),
      ) as [number, number, number, number, number];
      const vector = [channels];
      return runMultiOutput(BATCH_NORM_TRAINING, backend, [x.shape, vector, vector, vector, vector], (heap, outputs) =>
        addon.batchNormTraining(
          heap,
          ...at,
          ...(outputs as [number, number, number, number, number]),
          size(x.shape),
          channels,
          epsilonOf(attrs),
          Number(attrs?.decay),
        ),
      );
    },
  };
}

function batchNormTrainingGradKernel(addon: NativeEngineAddon): tf.KernelConfig {
  return {
    kernelName: BATCH_NORM_TRAINING_GRAD,
    backendName: NATIVE_BACKEND,
    kernelFunc: ({ inputs, attrs, backend: kernelBackend }) => {
      const backend = kernelBackend as unknown as WasmHeapBackend;
      const names = ['dy', 'x', 'mean', 'variance', 'scale'] as const;
      const tensors = float32Inputs(BATCH_NORM_TRAINING_GRAD, inputs, names);
      const { dy, x, mean, variance, scale } = tensors;
      const channels = channelsOf(BATCH_NORM_TRAINING_GRAD, x, [mean, variance, scale]);
      if (size(dy.shape) !== size(x.shape))
        throw new Error(`${BATCH_NORM_TRAINING_GRAD}: dy [${dy.shape}] and x [${x.shape}] differ`);
      const at = offsetsOf(
        backend,
        names.map((name) => tensors[name]),
      ) as [number, number, number, number, number];
      return runMultiOutput(BATCH_NORM_TRAINING_GRAD, backend, [x.shape, [channels], [channels]], (heap, outputs) =>
        addon.batchNormTrainingGrad(
          heap,
          ...at,
          ...(outputs as [number, number, number]),
          size(x.shape),
          channels,
          epsilonOf(attrs),
        ),
      );
    },
  };
}

function reluGradKernel(addon: NativeEngineAddon): tf.KernelConfig {
  return {
    kernelName: RELU_GRAD,
    backendName: NATIVE_BACKEND,
    kernelFunc: ({ inputs, backend: kernelBackend }) => {
      const backend = kernelBackend as unknown as WasmHeapBackend;
      const { dy, x } = float32Inputs(RELU_GRAD, inputs, ['dy', 'x']);
      const count = size(x.shape);
      if (size(dy.shape) !== count || count === 0)
        throw new Error(`${RELU_GRAD}: dy [${dy.shape}] and x [${x.shape}] must have one non-zero size`);
      const [dyAt, xAt] = offsetsOf(backend, [dy, x]) as [number, number];
      return runMultiOutput(RELU_GRAD, backend, [x.shape], (heap, [dx]) =>
        addon.reluGrad(heap, dyAt, xAt, dx!, count),
      )[0]!;
    },
  };
}

/**
 * BATCH_NORM_TRAINING's gradient, through the batch statistics into x. The statistics it outputs
 * feed only the moving averages, outside the gradient; they are treated as constants there (tfjs
 * hands a gradient function zeros for outputs off the gradient's path, which would cost three passes).
 */
const batchNormTrainingGradient: tf.GradConfig = {
  kernelName: BATCH_NORM_TRAINING,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true, false, false],
  gradFunc: (dys, saved, attrs) => {
    const [x, scale, mean, variance] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const [dx, dScale, dOffset] = tf
      .engine()
      .runKernel(
        BATCH_NORM_TRAINING_GRAD,
        { dy: (dys as tf.Tensor[])[0]!, x, mean, variance, scale },
        attrs,
      ) as tf.Tensor[];
    return { x: () => dx!, scale: () => dScale!, offset: () => dOffset! };
  },
};

/** The parts of tfjs-layers' BatchNormalization the training route reads (its fields are not public). */
interface BatchNormalizationLayer {
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly gamma: tf.LayerVariable | null;
  readonly beta: tf.LayerVariable | null;
  readonly movingMean: tf.LayerVariable;
  readonly movingVariance: tf.LayerVariable;
}

type LayerCall = (
  this: BatchNormalizationLayer,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: tf.serialization.ConfigDict,
) => tf.Tensor | tf.Tensor[];

const routed = Symbol('simkit native route');

/**
 * Routes tfjs-layers' BatchNormalization in training mode through BATCH_NORM_TRAINING while the
 * native backend is active and the layer normalises the last axis of a float32 tensor with a scale
 * and an offset (every batch-norm layer simkit builds); anything else runs tfjs-layers' own call.
 * The kernel updates the moving averages as tfjs-layers does: moving − (moving − batch)·(1 − momentum).
 * Idempotent.
 */
function routeBatchNormalizationTraining(): void {
  const layerClass = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization?.[0] as
    { prototype: { call: LayerCall & { [routed]?: true } } } | undefined;
  if (!layerClass) throw new Error('tfjs-layers has no BatchNormalization class registered');
  const original = layerClass.prototype.call;
  if (original[routed]) return;
  const call: LayerCall & { [routed]?: true } = function (this: BatchNormalizationLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const { gamma, beta } = this;
    if (
      kwargs.training !== true ||
      tf.getBackend() !== NATIVE_BACKEND ||
      !gamma ||
      !beta ||
      x.dtype !== 'float32' ||
      x.rank < 2 ||
      (this.axis !== -1 && this.axis !== x.rank - 1)
    )
      return original.call(this, inputs, kwargs);
    return tf.tidy(() => {
      const [y, , , movingMean, movingVariance] = tf.engine().runKernel(
        BATCH_NORM_TRAINING,
        {
          x,
          scale: gamma.read(),
          offset: beta.read(),
          movingMean: this.movingMean.read(),
          movingVariance: this.movingVariance.read(),
        },
        { varianceEpsilon: this.epsilon, decay: 1 - this.momentum },
      ) as tf.Tensor[];
      this.movingMean.write(movingMean!);
      this.movingVariance.write(movingVariance!);
      return y!;
    });
  };
  call[routed] = true;
  layerClass.prototype.call = call;
}

type FusedConv2dArgs = Parameters<typeof tf.fused.conv2d>[0];

/**
 * Routes tf.fused.conv2d without bias or activation (tfjs-layers' convolutions before a batch
 * norm) to tf.conv2d while the native backend is active. The fused op's gradient is a custom one
 * that computes the input gradient eagerly, also where nothing needs it: the first convolution's
 * gradient with respect to the input images, which with 3 channels is oneDNN's slowest
 * backward-data case. Conv2D's registered gradient is lazy, and the forward kernel is the same
 * oneDNN convolution. Idempotent.
 */
function routeLinearConvolutions(): void {
  const original = tf.fused.conv2d as typeof tf.fused.conv2d & { [routed]?: true };
  if (original[routed]) return;
  const conv2d = (args: FusedConv2dArgs) => {
    const { x, filter, strides, pad, dataFormat, dilations, dimRoundingMode, bias, activation } = args;
    if (
      tf.getBackend() !== NATIVE_BACKEND ||
      bias != null ||
      args.preluActivationWeights != null ||
      (activation ?? 'linear') !== 'linear' ||
      !(x instanceof tf.Tensor) ||
      !(filter instanceof tf.Tensor)
    )
      return original(args);
    return tf.conv2d(x, filter, strides, pad, dataFormat, dilations, dimRoundingMode);
  };
  tf.fused.conv2d = Object.assign(conv2d, { [routed]: true as const }) as typeof tf.fused.conv2d;
}

/** Registers the kernels and routes of this module on the native backend. Idempotent. */
export function registerTrainingKernels(addon: NativeEngineAddon): void {
  tf.registerKernel(batchNormTrainingKernel(addon));
  tf.registerKernel(batchNormTrainingGradKernel(addon));
  tf.registerKernel(reluGradKernel(addon));
  tf.registerGradient(batchNormTrainingGradient);
  overrideGradient(
    'Relu',
    (dy, [x]) => dy.dtype === 'float32' && x!.dtype === 'float32',
    (dy, [x]) => ({ x: () => tf.engine().runKernel(RELU_GRAD, { dy: dy as tf.Tensor, x: x! }) as tf.Tensor }),
  );
  routeBatchNormalizationTraining();
  routeLinearConvolutions();
}
