import * as tf from '@tensorflow/tfjs';
import { log } from '../../log.js';
import { convGeometry, oneDnnGeometry } from '../kernels/conv-geometry.js';
import type { NativeEngineAddon } from './addon.js';

export const NATIVE_BACKEND = 'native';

/** The parts of tfjs-backend-wasm's BackendWasm a native kernel uses: tensors are byte offsets into one heap. */
export interface WasmHeapBackend {
  readonly wasm: { readonly HEAPU8: Uint8Array };
  readonly dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}

type Inputs = Readonly<Record<string, tf.TensorInfo | undefined>>;

/** What a native kernel will do for these inputs: the output's shape and the addon call that fills it. */
interface NativePlan {
  readonly shape: number[];
  run(addon: NativeEngineAddon, heap: ArrayBuffer, out: number): void;
}

/**
 * Plans the native call, or returns undefined when the native path does not cover the inputs (the wasm kernel runs).
 */
type Planner = (
  inputs: Inputs,
  attrs: tf.NamedAttrMap,
  offsetOf: (tensor: tf.TensorInfo) => number,
) => NativePlan | undefined;

/** Activation codes of native/engine/src/common.h. */
export const ACTIVATIONS: Readonly<Record<string, number>> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  leakyrelu: 3,
  sigmoid: 4,
  elu: 5,
};

const calls = { native: new Map<string, number>(), wasm: new Map<string, number>() };

/**
 * How often each kernel of the native backend ran natively, and how often on wasm (inputs it does not cover, or too
 * small to pay), since the process started.
 */
export function nativeKernelCalls(): { native: Record<string, number>; wasm: Record<string, number> } {
  return { native: Object.fromEntries(calls.native), wasm: Object.fromEntries(calls.wasm) };
}

function count(map: Map<string, number>, name: string): void {
  map.set(name, (map.get(name) ?? 0) + 1);
}

/**
 * Runs a native kernel with several outputs (defined outside the planner table): allocates the
 * outputs, calls `run` with the heap and the outputs' offsets, counts the call, and releases the
 * outputs if the call fails, with an error naming the kernel.
 */
export function runMultiOutput(
  kernelName: string,
  backend: WasmHeapBackend,
  shapes: readonly (readonly number[])[],
  run: (heap: ArrayBuffer, outputs: number[]) => void,
): tf.TensorInfo[] {
  const outputs = shapes.map((shape) => backend.makeOutput([...shape], 'float32'));
  try {
    run(
      backend.wasm.HEAPU8.buffer as ArrayBuffer,
      outputs.map((out) => backend.dataIdMap.get(out.dataId).memoryOffset),
    );
  } catch (error) {
    for (const output of outputs) backend.disposeData(output.dataId);
    throw new Error(`native ${kernelName} kernel failed: ${(error as Error).message}`, { cause: error });
  }
  count(calls.native, kernelName);
  return outputs;
}

/** Elements of a tensor of `shape`. */
export const size = (shape: readonly number[]): number => shape.reduce((product, dim) => product * dim, 1);
const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((dim, i) => dim === b[i]);
const allFloat32 = (...tensors: (tf.TensorInfo | undefined)[]): boolean =>
  tensors.every((t) => t === undefined || t.dtype === 'float32');

function activationOf(
  attrs: tf.NamedAttrMap,
  prelu: tf.TensorInfo | undefined,
): { code: number; alpha: number } | undefined {
  const code = ACTIVATIONS[typeof attrs.activation === 'string' ? attrs.activation : 'linear'];
  if (code === undefined || prelu) return undefined;
  return { code, alpha: code === ACTIVATIONS.leakyrelu ? Number(attrs.leakyreluAlpha ?? 0.2) : 0 };
}

/** BatchMatMul and _FusedMatMul: any rank ≥ 2, equal batch dims or a batch of one broadcast, a bias of N values. */
function matmulPlanner(fused: boolean): Planner {
  return ({ a, b, bias, preluActivationWeights }, attrs, offsetOf) => {
    const activation = fused ? activationOf(attrs, preluActivationWeights) : { code: 0, alpha: 0 };
    if (!a || !b || !activation || !allFloat32(a, b, bias) || a.shape.length < 2 || b.shape.length < 2)
      return undefined;
    const [transposeA, transposeB] = [Boolean(attrs.transposeA), Boolean(attrs.transposeB)];
    const [ra, rb] = [a.shape.length, b.shape.length];
    const m = a.shape[transposeA ? ra - 1 : ra - 2]!;
    const k = a.shape[transposeA ? ra - 2 : ra - 1]!;
    const kb = b.shape[transposeB ? rb - 1 : rb - 2]!;
    const n = b.shape[transposeB ? rb - 2 : rb - 1]!;
    if (k !== kb || m * n * k === 0) return undefined;
    const [outerA, outerB] = [a.shape.slice(0, -2), b.shape.slice(0, -2)];
    const [batchA, batchB] = [size(outerA), size(outerB)];
    let outer: number[];
    if (sameShape(outerA, outerB) || (batchB === 1 && outerB.length <= outerA.length)) outer = outerA;
    else if (batchA === 1 && outerA.length <= outerB.length) outer = outerB;
    else return undefined;
    if (bias && (size(bias.shape) !== n || bias.shape.at(-1) !== n)) return undefined;
    const [aAt, bAt, biasAt] = [offsetOf(a), offsetOf(b), bias ? offsetOf(bias) : -1];
    return {
      shape: [...outer, m, n],
      run: (addon, heap, out) =>
        addon.matmul(
          heap,
          aAt,
          bAt,
          biasAt,
          out,
          batchA,
          batchB,
          m,
          n,
          k,
          Number(transposeA),
          Number(transposeB),
          activation.code,
          activation.alpha,
        ),
    };
  };
}

/** Whether a convolution's tensors are NHWC, the only layout of native/engine's convolutions. */
function isNhwc(attrs: tf.NamedAttrMap): boolean {
  return (attrs.dataFormat ?? 'NHWC') === 'NHWC';
}

/**
 * Conv2D and FusedConv2D (bias of outChannels values, fused activation); with `depthwise`,
 * DepthwiseConv2dNative and FusedDepthwiseConv2D (any channel multiplier: outChannels = inChannels · multiplier).
 */
function conv2dPlanner(fused: boolean, depthwise = false): Planner {
  return ({ x, filter, bias, preluActivationWeights }, attrs, offsetOf) => {
    const activation = fused ? activationOf(attrs, preluActivationWeights) : { code: 0, alpha: 0 };
    if (
      !x ||
      !filter ||
      !activation ||
      !allFloat32(x, filter, bias) ||
      x.shape.length !== 4 ||
      filter.shape.length !== 4 ||
      !isNhwc(attrs)
    )
      return undefined;
    const info = convGeometry(x.shape, filter.shape, attrs, depthwise);
    const geometry = oneDnnGeometry(info);
    if (!geometry || (bias && size(bias.shape) !== info.outChannels)) return undefined;
    const [xAt, filterAt, biasAt] = [offsetOf(x), offsetOf(filter), bias ? offsetOf(bias) : -1];
    return {
      shape: info.outShape,
      run: (addon, heap, out) =>
        addon[depthwise ? 'depthwiseConv2d' : 'conv2d'](
          heap,
          xAt,
          filterAt,
          biasAt,
          out,
          ...geometry,
          activation.code,
          activation.alpha,
        ),
    };
  };
}

/**
 * The attributes of a convolution's gradient kernel as the forward geometry reads them: tfjs's conv2d gradients are
 * for dilation 1 only; depthwise ones carry the forward pass's dilations.
 */
const gradientAttrs = (attrs: tf.NamedAttrMap, depthwise: boolean): tf.NamedAttrMap =>
  depthwise ? attrs : { ...attrs, dilations: 1 };

/** Conv2DBackpropInput; with `depthwise`, DepthwiseConv2dNativeBackpropInput. */
function conv2dBackpropInputPlanner(depthwise: boolean): Planner {
  return ({ dy, filter }, attrs, offsetOf) => {
    const inputShape = attrs.inputShape as number[];
    if (!dy || !filter || !allFloat32(dy, filter) || inputShape.length !== 4 || !isNhwc(attrs)) return undefined;
    const geometry = oneDnnGeometry(convGeometry(inputShape, filter.shape, gradientAttrs(attrs, depthwise), depthwise));
    if (!geometry) return undefined;
    const [dyAt, filterAt] = [offsetOf(dy), offsetOf(filter)];
    const kernel = depthwise ? 'depthwiseConv2dBackpropInput' : 'conv2dBackpropInput';
    return { shape: [...inputShape], run: (addon, heap, out) => addon[kernel](heap, dyAt, filterAt, out, ...geometry) };
  };
}

/** Conv2DBackpropFilter; with `depthwise`, DepthwiseConv2dNativeBackpropFilter. */
function conv2dBackpropFilterPlanner(depthwise: boolean): Planner {
  return ({ x, dy }, attrs, offsetOf) => {
    const filterShape = attrs.filterShape as number[];
    if (!x || !dy || !allFloat32(x, dy) || x.shape.length !== 4 || filterShape.length !== 4 || !isNhwc(attrs))
      return undefined;
    const geometry = oneDnnGeometry(convGeometry(x.shape, filterShape, gradientAttrs(attrs, depthwise), depthwise));
    if (!geometry) return undefined;
    const [xAt, dyAt] = [offsetOf(x), offsetOf(dy)];
    const kernel = depthwise ? 'depthwiseConv2dBackpropFilter' : 'conv2dBackpropFilter';
    return { shape: [...filterShape], run: (addon, heap, out) => addon[kernel](heap, xAt, dyAt, out, ...geometry) };
  };
}

/** The 12 geometry numbers of native/engine's pooling kernels (NHWC, no dilation). */
function poolGeometry(
  xShape: number[],
  attrs: tf.NamedAttrMap,
): { geometry: number[]; outShape: number[] } | undefined {
  if (xShape.length !== 4 || size(xShape) === 0) return undefined;
  const a = attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const { outHeight, outWidth, padInfo } = info;
  if (outHeight <= 0 || outWidth <= 0 || padInfo.top < 0 || padInfo.left < 0) return undefined;
  const input = [info.batchSize, info.inHeight, info.inWidth, info.inChannels];
  const window = [info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth];
  return { geometry: [...input, outHeight, outWidth, ...window, padInfo.top, padInfo.left], outShape: info.outShape };
}

function poolPlanner(kind: 'maxPool' | 'avgPool'): Planner {
  return ({ x }, attrs, offsetOf) => {
    const pool = x && allFloat32(x) ? poolGeometry(x.shape, attrs) : undefined;
    if (!x || !pool) return undefined;
    const xAt = offsetOf(x);
    return { shape: pool.outShape, run: (addon, heap, out) => addon[kind](heap, xAt, out, ...pool.geometry) };
  };
}

const maxPoolGradPlanner: Planner = ({ dy, input }, attrs, offsetOf) => {
  const pool = dy && input && allFloat32(dy, input) ? poolGeometry(input.shape, attrs) : undefined;
  if (!dy || !input || !pool || !sameShape(pool.outShape, dy.shape)) return undefined;
  const [dyAt, inputAt] = [offsetOf(dy), offsetOf(input)];
  return {
    shape: [...input.shape],
    run: (addon, heap, out) => addon.maxPoolGrad(heap, dyAt, inputAt, out, ...pool.geometry),
  };
};

const avgPoolGradPlanner: Planner = ({ dy, input }, attrs, offsetOf) => {
  const pool = dy && input && allFloat32(dy) ? poolGeometry(input.shape, attrs) : undefined;
  if (!dy || !input || !pool || !sameShape(pool.outShape, dy.shape)) return undefined;
  const dyAt = offsetOf(dy);
  return { shape: [...input.shape], run: (addon, heap, out) => addon.avgPoolGrad(heap, dyAt, out, ...pool.geometry) };
};

/**
 * Below this many elements a memory-bound kernel stays on wasm: the call into the addon and a
 * thread team cost more than wasm's single pass.
 */
const MEMORY_BOUND_MINIMUM = 65536;

/** Sum and Mean over leading axes (bias and batch-norm gradients, batch moments), all axes included. */
function reducePlanner(mean: boolean): Planner {
  return ({ x }, attrs, offsetOf) => {
    if (!x || !allFloat32(x) || size(x.shape) < MEMORY_BOUND_MINIMUM) return undefined;
    const rank = x.shape.length;
    const axes = [
      ...new Set([attrs.axis as number | number[]].flat().map((axis) => (axis < 0 ? axis + rank : axis))),
    ].sort((a, b) => a - b);
    if (axes.length === 0 || axes.some((axis, i) => axis !== i)) return undefined;
    const [rows, cols] = [size(x.shape.slice(0, axes.length)), size(x.shape.slice(axes.length))];
    const shape = attrs.keepDims ? x.shape.map((dim, i) => (i < axes.length ? 1 : dim)) : x.shape.slice(axes.length);
    const xAt = offsetOf(x);
    return { shape, run: (addon, heap, out) => addon.reduceLeading(heap, xAt, out, rows, cols, Number(mean)) };
  };
}

/** Binary operation codes of native/engine/src/elementwise.cc. */
const BINARY_OPS = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4 } as const;

/** `small` repeats along the leading axes of `full`: its shape, less leading ones, ends `full`'s. */
const repeatsIn = (small: readonly number[], full: readonly number[]): boolean => {
  const trimmed = small.slice(
    small.findIndex((dim) => dim !== 1) < 0 ? small.length : small.findIndex((dim) => dim !== 1),
  );
  return small.length <= full.length && trimmed.every((dim, i) => dim === full[full.length - trimmed.length + i]);
};

/**
 * Large float32 arithmetic where the operands have one shape, or one of them is a scalar or a trailing block (a
 * per-channel vector).
 */
function binaryPlanner(op: keyof typeof BINARY_OPS): Planner {
  return ({ a, b }, _attrs, offsetOf) => {
    if (!a || !b || !allFloat32(a, b)) return undefined;
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const count = size(shape);
    if (count < MEMORY_BOUND_MINIMUM) return undefined;
    let plan: { full: tf.TensorInfo; other: tf.TensorInfo; otherFirst: boolean } | undefined;
    if (sameShape(a.shape, shape) && repeatsIn(b.shape, shape)) plan = { full: a, other: b, otherFirst: false };
    else if (sameShape(b.shape, shape) && repeatsIn(a.shape, shape)) plan = { full: b, other: a, otherFirst: true };
    if (!plan) return undefined;
    const [fullAt, otherAt, period, otherFirst] = [
      offsetOf(plan.full),
      offsetOf(plan.other),
      size(plan.other.shape),
      Number(plan.otherFirst),
    ];
    return {
      shape,
      run: (addon, heap, out) => addon.binary(heap, fullAt, otherAt, out, BINARY_OPS[op], count, period, otherFirst),
    };
  };
}

/**
 * Tile that repeats the whole input along leading axes (input dims of 1 there, reps of 1 after): tfjs's batch-norm
 * gradient.
 */
const tilePlanner: Planner = ({ x }, attrs, offsetOf) => {
  const reps = attrs.reps as number[];
  if (!x || !allFloat32(x) || reps.length !== x.shape.length) return undefined;
  const shape = x.shape.map((dim, i) => dim * reps[i]!);
  const firstKept = x.shape.findIndex((dim) => dim !== 1);
  const lead = firstKept < 0 ? x.shape.length : firstKept;
  if (size(shape) < MEMORY_BOUND_MINIMUM || reps.slice(lead).some((rep) => rep !== 1)) return undefined;
  const [xAt, block, copies] = [offsetOf(x), size(x.shape), size(reps)];
  return { shape, run: (addon, heap, out) => addon.repeatBlock(heap, xAt, out, block, copies) };
};

/** FusedBatchNorm (inference and training forward): per-channel vectors over the last axis. */
const batchNormPlanner: Planner = ({ x, mean, variance, offset, scale }, attrs, offsetOf) => {
  if (!x || !mean || !variance || !allFloat32(x, mean, variance, offset, scale) || size(x.shape) < MEMORY_BOUND_MINIMUM)
    return undefined;
  const channels = x.shape.at(-1)!;
  if ([mean, variance, offset, scale].some((t) => t && (size(t.shape) !== channels || !repeatsIn(t.shape, x.shape))))
    return undefined;
  const at = [x, mean, variance].map(offsetOf) as [number, number, number];
  const [offsetAt, scaleAt] = [offset ? offsetOf(offset) : -1, scale ? offsetOf(scale) : -1];
  const epsilon = Number(attrs.varianceEpsilon ?? 0.001);
  return {
    shape: [...x.shape],
    run: (addon, heap, out) => addon.batchNorm(heap, ...at, offsetAt, scaleAt, out, size(x.shape), channels, epsilon),
  };
};

/** Relu of a large float32 tensor, multi-threaded (wasm's runs on one thread). */
const reluPlanner: Planner = ({ x }, _attrs, offsetOf) => {
  if (!x || !allFloat32(x) || size(x.shape) < MEMORY_BOUND_MINIMUM) return undefined;
  const xAt = offsetOf(x);
  return { shape: [...x.shape], run: (addon, heap, out) => addon.relu(heap, xAt, out, size(x.shape)) };
};

/** Kernels the native engine runs, by TensorFlow.js kernel name. */
export const NATIVE_PLANNERS: Readonly<Record<string, Planner>> = {
  BatchMatMul: matmulPlanner(false),
  _FusedMatMul: matmulPlanner(true),
  Conv2D: conv2dPlanner(false),
  FusedConv2D: conv2dPlanner(true),
  Conv2DBackpropInput: conv2dBackpropInputPlanner(false),
  Conv2DBackpropFilter: conv2dBackpropFilterPlanner(false),
  DepthwiseConv2dNative: conv2dPlanner(false, true),
  FusedDepthwiseConv2D: conv2dPlanner(true, true),
  DepthwiseConv2dNativeBackpropInput: conv2dBackpropInputPlanner(true),
  DepthwiseConv2dNativeBackpropFilter: conv2dBackpropFilterPlanner(true),
  MaxPool: poolPlanner('maxPool'),
  MaxPoolGrad: maxPoolGradPlanner,
  AvgPool: poolPlanner('avgPool'),
  AvgPoolGrad: avgPoolGradPlanner,
  Tile: tilePlanner,
  FusedBatchNorm: batchNormPlanner,
  Relu: reluPlanner,
  Sum: reducePlanner(false),
  Mean: reducePlanner(true),
  ...Object.fromEntries(Object.keys(BINARY_OPS).map((op) => [op, binaryPlanner(op as keyof typeof BINARY_OPS)])),
};

const warned = new Set<string>();

/**
 * A kernel of the `native` backend: the native path when its planner covers the inputs, else the
 * wasm kernel it replaces. oneDNN refusing a configuration falls back too, with one warning per
 * kernel; any other native failure is an error that names the kernel. The output of a failed call
 * is released, so nothing leaks.
 */
export function nativeKernel(
  kernelName: string,
  planner: Planner,
  addon: NativeEngineAddon,
  fallback: tf.KernelConfig | undefined,
): tf.KernelConfig {
  const runFallback = (args: Parameters<tf.KernelFunc>[0]) => {
    if (!fallback)
      throw new Error(
        `the native ${kernelName} kernel does not cover inputs of shapes ${Object.values(args.inputs)
          .map((t) => `[${t?.shape}]`)
          .join(', ')}, and wasm has no ${kernelName}`,
      );
    count(calls.wasm, kernelName);
    return fallback.kernelFunc(args);
  };
  return {
    kernelName,
    backendName: NATIVE_BACKEND,
    ...(fallback?.setupFunc ? { setupFunc: fallback.setupFunc } : {}),
    kernelFunc: (args) => {
      const backend = args.backend as unknown as WasmHeapBackend;
      const plan = planner(
        args.inputs,
        args.attrs ?? {},
        (tensor) => backend.dataIdMap.get(tensor.dataId).memoryOffset,
      );
      if (!plan) return runFallback(args);
      const out = backend.makeOutput(plan.shape, 'float32');
      try {
        // Read the heap after makeOutput: an allocation may have grown (and replaced) it.
        plan.run(addon, backend.wasm.HEAPU8.buffer as ArrayBuffer, backend.dataIdMap.get(out.dataId).memoryOffset);
      } catch (error) {
        backend.disposeData(out.dataId);
        const message = (error as Error).message;
        if (!message.includes('oneDNN') || !fallback)
          throw new Error(`native ${kernelName} kernel failed: ${message}`, { cause: error });
        if (!warned.has(kernelName))
          log.warn(`native ${kernelName}: ${message}; using the wasm kernel for this configuration`);
        warned.add(kernelName);
        return runFallback(args);
      }
      count(calls.native, kernelName);
      return out;
    },
  };
}
