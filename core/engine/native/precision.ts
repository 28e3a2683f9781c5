import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../errors.js';
import { loadNativeAddon, type NativeEngineAddon } from './addon.js';

export const PRECISIONS = ['f32', 'bf16'] as const;
export type Precision = (typeof PRECISIONS)[number];

let current: Precision = 'f32';

/** The precision the native backend's convolutions and matmuls run in now. */
export function nativePrecision(): Precision {
  return current;
}

/**
 * Sets the precision of the native backend's conv2d, its two gradients and matmul. bf16 (mixed precision) is refused,
 * naming what is missing, when the addon is absent or oneDNN has no native bf16 convolution on this CPU (it needs
 * AVX512-BF16 or AMX).
 */
export function setNativePrecision(precision: Precision, addon: NativeEngineAddon | undefined): void {
  if (precision === 'bf16') {
    if (!addon)
      throw new UserError(
        '--precision bf16 needs the native engine addon, which is not loaded',
        'run `make build`, or train in f32',
      );
    const support = addon.bf16Support();
    if (!support.supported)
      throw new UserError(
        `--precision bf16: this CPU has no native bf16 convolution (oneDNN ${addon.info().onednn}, ISA ${addon.info().isa}, ` +
          `bf16 probe: ${support.implementation}); bf16 needs AVX512-BF16 or AMX`,
        'train in f32 (--precision f32)',
      );
  }
  current = precision;
}

/**
 * Sets the precision a run asked for (`--precision`, SIMKIT_PRECISION; default f32) on the active backend: bf16 runs on
 * the native backend only, and is refused on any other, naming it.
 */
export function applyPrecision(
  request: string | undefined,
  backend: string,
  addon: NativeEngineAddon | undefined,
): Precision {
  const precision = parsePrecision(request);
  if (precision === 'bf16' && backend !== 'native')
    throw new UserError(
      `--precision bf16 runs on the native backend only (oneDNN bf16 convolutions and matmuls); the backend is ${backend}`,
      'pass --backend native, or train in f32',
    );
  if (backend === 'native') setNativePrecision(precision, addon);
  return precision;
}

/**
 * Runs `body` in `precision` (a model's `training.precision`) on the active backend, then restores the precision it
 * found. `--precision` (SIMKIT_PRECISION) wins over it; undefined keeps the precision as set.
 */
export async function withPrecision<T>(precision: Precision | undefined, body: () => Promise<T>): Promise<T> {
  if (precision === undefined || precision === current || process.env.SIMKIT_PRECISION) return body();
  const previous = current;
  applyPrecision(precision, tf.getBackend(), loadNativeAddon().addon);
  try {
    return await body();
  } finally {
    current = previous;
  }
}

export function parsePrecision(value: string | undefined): Precision {
  const precision = (value ?? 'f32').trim().toLowerCase();
  if (!(PRECISIONS as readonly string[]).includes(precision))
    throw new UserError(`unknown precision "${value}"`, `choose one of: ${PRECISIONS.join(', ')}`);
  return precision as Precision;
}

/**
 * The addon with conv2d, its two gradients and matmul routed by the current precision: in bf16 they run the addon's
 * bf16 kernels, and the f32 ones for a shape the bf16 kernel declines. Every other kernel is the addon's own.
 */
export function precisionRouted(addon: NativeEngineAddon): NativeEngineAddon {
  const routed: Pick<NativeEngineAddon, 'conv2d' | 'conv2dBackpropInput' | 'conv2dBackpropFilter' | 'matmul'> = {
    conv2d: (...args) => {
      if (current !== 'bf16' || !addon.conv2dBf16(...args)) addon.conv2d(...args);
    },
    conv2dBackpropInput: (...args) => {
      if (current !== 'bf16' || !addon.conv2dBackpropInputBf16(...args)) addon.conv2dBackpropInput(...args);
    },
    conv2dBackpropFilter: (...args) => {
      if (current !== 'bf16' || !addon.conv2dBackpropFilterBf16(...args)) addon.conv2dBackpropFilter(...args);
    },
    matmul: (...args) => {
      if (current !== 'bf16' || !addon.matmulBf16(...args)) addon.matmul(...args);
    },
  };
  return Object.assign(Object.create(addon) as NativeEngineAddon, routed);
}
