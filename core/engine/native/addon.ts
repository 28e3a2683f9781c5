import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A convolution's forward pass: byte offsets (bias −1: none), the 17 geometry numbers, activation code, alpha. */
type ConvolutionForward = (
  heap: ArrayBuffer,
  x: number,
  filter: number,
  bias: number,
  out: number,
  ...geometryActivationAlpha: number[]
) => void;

/**
 * The native engine addon (native/engine, built by scripts/build-native-engine.mjs): oneDNN
 * matmul and convolutions and OpenMP pooling, working in place on TensorFlow.js's wasm heap.
 * Every kernel takes the heap ArrayBuffer first, then byte offsets of its tensors and its geometry.
 */
export interface NativeEngineAddon {
  info(): { onednn: string; isa: string; threads: number; cpuRuntime: string };
  setThreads(threads: number): void;
  matmul(
    heap: ArrayBuffer,
    a: number,
    b: number,
    bias: number,
    out: number,
    batchA: number,
    batchB: number,
    m: number,
    n: number,
    k: number,
    transposeA: number,
    transposeB: number,
    activation: number,
    alpha: number,
  ): void;
  conv2d: ConvolutionForward;
  /**
   * bf16 variants of conv2d, its two gradients and matmul (native/engine/src/bf16.cc), with the same arguments: bf16
   * inputs, f32 accumulation and output. Each returns false, having done nothing, when oneDNN has only its reference
   * kernel for the shape; the caller then runs the f32 kernel.
   */
  conv2dBf16(...args: Parameters<ConvolutionForward>): boolean;
  conv2dBackpropInputBf16(heap: ArrayBuffer, dy: number, filter: number, dx: number, ...geometry: number[]): boolean;
  conv2dBackpropFilterBf16(heap: ArrayBuffer, x: number, dy: number, dw: number, ...geometry: number[]): boolean;
  matmulBf16(...args: Parameters<NativeEngineAddon['matmul']>): boolean;
  /** Whether oneDNN runs bf16 convolutions natively here, and the implementation it picks for a probe. */
  bf16Support(): { supported: boolean; implementation: string };
  /** bf16 kernel calls so far: run, declined (f32 ran instead), and the oneDNN implementations used. */
  bf16Stats(): { runs: number; declined: number; implementations: string[] };
  /** act(conv2d + bias + addend): conv2d's arguments with the addend's offset before the output's. */
  conv2dAdd(
    heap: ArrayBuffer,
    x: number,
    filter: number,
    bias: number,
    addend: number,
    ...outGeometryActivation: number[]
  ): void;
  conv2dBackpropInput(heap: ArrayBuffer, dy: number, filter: number, dx: number, ...geometry: number[]): void;
  conv2dBackpropFilter(heap: ArrayBuffer, x: number, dy: number, dw: number, ...geometry: number[]): void;
  /** Depthwise convolution (oneDNN's grouped convolution): the arguments and geometry of conv2d and its gradients. */
  depthwiseConv2d: ConvolutionForward;
  depthwiseConv2dBackpropInput(heap: ArrayBuffer, dy: number, filter: number, dx: number, ...geometry: number[]): void;
  depthwiseConv2dBackpropFilter(heap: ArrayBuffer, x: number, dy: number, dw: number, ...geometry: number[]): void;
  maxPool(heap: ArrayBuffer, x: number, y: number, ...geometry: number[]): void;
  maxPoolGrad(heap: ArrayBuffer, dy: number, x: number, dx: number, ...geometry: number[]): void;
  avgPool(heap: ArrayBuffer, x: number, y: number, ...geometry: number[]): void;
  avgPoolGrad(heap: ArrayBuffer, dy: number, dx: number, ...geometry: number[]): void;
  batchNormGrad(
    heap: ArrayBuffer,
    dy: number,
    x: number,
    mean: number,
    variance: number,
    scale: number,
    dx: number,
    dMean: number,
    dVariance: number,
    dScale: number,
    dOffset: number,
    count: number,
    channels: number,
    epsilon: number,
  ): void;
  batchNorm(
    heap: ArrayBuffer,
    x: number,
    mean: number,
    variance: number,
    offset: number,
    scale: number,
    out: number,
    count: number,
    channels: number,
    epsilon: number,
  ): void;
  batchNormTraining(
    heap: ArrayBuffer,
    x: number,
    scale: number,
    offset: number,
    movingMean: number,
    movingVariance: number,
    y: number,
    mean: number,
    variance: number,
    newMovingMean: number,
    newMovingVariance: number,
    count: number,
    channels: number,
    epsilon: number,
    decay: number,
  ): void;
  batchNormTrainingGrad(
    heap: ArrayBuffer,
    dy: number,
    x: number,
    mean: number,
    variance: number,
    scale: number,
    dx: number,
    dScale: number,
    dOffset: number,
    count: number,
    channels: number,
    epsilon: number,
  ): void;
  reluGrad(heap: ArrayBuffer, dy: number, x: number, dx: number, count: number): void;
  relu(heap: ArrayBuffer, x: number, y: number, count: number): void;
  repeatBlock(heap: ArrayBuffer, x: number, out: number, blockSize: number, copies: number): void;
  reduceLeading(heap: ArrayBuffer, x: number, out: number, rows: number, cols: number, mean: number): void;
  binary(
    heap: ArrayBuffer,
    full: number,
    other: number,
    out: number,
    op: number,
    count: number,
    period: number,
    otherFirst: number,
  ): void;
  adam(
    heap: ArrayBuffer,
    value: number,
    gradient: number,
    first: number,
    second: number,
    newValue: number,
    newFirst: number,
    newSecond: number,
    count: number,
    ...constants: number[]
  ): void;
}

/**
 * OpenMP threads that wait for work spin for about 300,000 iterations by default (libgomp), which on
 * a machine shared with other work steals the time slices the busy threads need: a CNN step took
 * 3× longer on two threads than on one under load, and as long as on one thread with a short spin.
 * libgomp reads this once, when the first library using it loads (this addon or faiss-node's), so
 * it is set when this module is imported; a user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
 */
if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined)
  process.env.GOMP_SPINCOUNT = '10000';

const ROOT = [
  resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'),
  resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..'),
].find((dir) => existsSync(join(dir, 'native', 'engine', 'CMakeLists.txt')));

/** Where the built addon lives (beside its sources, in the package). */
export const NATIVE_ADDON_PATH = join(ROOT ?? '.', 'native', 'engine', 'build', 'Release', 'simkit_engine.node');

export type AddonLoad =
  | { readonly addon: NativeEngineAddon; readonly path: string }
  | { readonly addon?: undefined; readonly reason: string };

let loaded: AddonLoad | undefined;

/** Loads the addon once; the reason says why it is absent (not built, or libdnnl missing). */
export function loadNativeAddon(): AddonLoad {
  if (loaded) return loaded;
  if (process.env.SIMKIT_NO_NATIVE === '1') return (loaded = { reason: 'disabled by SIMKIT_NO_NATIVE=1' });
  if (!existsSync(NATIVE_ADDON_PATH)) return (loaded = { reason: `${NATIVE_ADDON_PATH} not built` });
  try {
    const addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeEngineAddon;
    return (loaded = { addon, path: NATIVE_ADDON_PATH });
  } catch (error) {
    return (loaded = { reason: `${NATIVE_ADDON_PATH} does not load: ${(error as Error).message.split('\n')[0]}` });
  }
}
