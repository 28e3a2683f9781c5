import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import { log } from '../log.js';
import { loadNativeAddon } from './native/addon.js';
import { NATIVE_BACKEND, registerNativeBackend } from './native/backend.js';
import { applyPrecision } from './native/precision.js';

export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'] as const;
export type BackendRequest = (typeof BACKENDS)[number];
export type BackendName = Exclude<BackendRequest, 'auto'>;

export interface BackendChoice {
  readonly name: BackendName;
  /** Why this backend was chosen, including why the faster ones were not. */
  readonly reason: string;
}

export interface BackendProbe {
  readonly name: BackendName;
  readonly available: boolean;
  readonly detail: string;
  readonly fix?: string;
}

const GPU_FIX =
  'run `make gpu` (needs CUDA 11.2 + cuDNN 8.1 and a reachable libtensorflow mirror: TFJS_NODE_CDN_STORAGE)';
const NATIVE_FIX = 'run `make build` (as root it installs libdnnl-dev, then builds native/engine)';
const WEBGPU_FIX =
  'install the optional `webgpu` and `@tensorflow/tfjs-backend-webgpu` packages (`make webgpu`) on a machine with a Vulkan GPU driver';

/** The backend set up so far, and the queue that serialises set-up requests. */
let active: BackendChoice | undefined;
let pending: Promise<unknown> = Promise.resolve();

export function parseBackend(value: string | undefined): BackendRequest {
  const request = (value ?? 'auto').trim().toLowerCase();
  if (!(BACKENDS as readonly string[]).includes(request)) {
    throw new UserError(`unknown backend "${value}"`, `choose one of: ${BACKENDS.join(', ')}`);
  }
  return request as BackendRequest;
}

async function importOptional(name: string): Promise<unknown> {
  try {
    return await import(name);
  } catch (error) {
    log.debug(`${name} did not load: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** Loads tfjs-node-gpu or tfjs-node, which register the native `tensorflow` backend. */
async function probeTensorflow(): Promise<BackendProbe> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if (await importOptional(pkg)) {
      return { name: 'tensorflow', available: true, detail: `${pkg} loaded (libtensorflow)` };
    }
  }
  return {
    name: 'tensorflow',
    available: false,
    detail: '@tensorflow/tfjs-node-gpu / @tensorflow/tfjs-node not installed',
    fix: GPU_FIX,
  };
}

/** WebGPU through Dawn (npm `webgpu`): needs a real GPU adapter. Experimental. */
async function probeWebgpu(): Promise<BackendProbe> {
  const dawn = (await importOptional('webgpu')) as
    { create(flags: string[]): { requestAdapter(): Promise<unknown> }; globals?: object } | undefined;
  if (!dawn) return { name: 'webgpu', available: false, detail: 'npm package `webgpu` not installed', fix: WEBGPU_FIX };
  try {
    if (dawn.globals) Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create([]);
    const adapter = await gpu.requestAdapter();
    if (!adapter)
      return { name: 'webgpu', available: false, detail: 'no WebGPU adapter (no Vulkan GPU driver)', fix: WEBGPU_FIX };
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
    if (!(await importOptional('@tensorflow/tfjs-backend-webgpu'))) {
      return {
        name: 'webgpu',
        available: false,
        detail: '@tensorflow/tfjs-backend-webgpu not installed',
        fix: WEBGPU_FIX,
      };
    }
    return { name: 'webgpu', available: true, detail: 'WebGPU adapter found (experimental)' };
  } catch (error) {
    return { name: 'webgpu', available: false, detail: `WebGPU failed: ${(error as Error).message}`, fix: WEBGPU_FIX };
  }
}

/** Threads for the native engine: SIMKIT_THREADS (set by --threads), else every core. */
export function engineThreads(value: string | undefined = process.env.SIMKIT_THREADS): number {
  if (value === undefined || value.trim() === '') return availableParallelism();
  const threads = Number(value);
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024) {
    throw new UserError(
      `threads must be a whole number from 1 to 1024, got "${value}"`,
      'pass --threads N or SIMKIT_THREADS=N, or leave it unset for every core',
    );
  }
  return threads;
}

/** The oneDNN addon over wasm's heap (core/engine/native): multi-threaded matmul, convolutions and pooling. */
async function probeNative(): Promise<BackendProbe> {
  const wasm = await probeWasm();
  if (!wasm.available) return { ...wasm, name: 'native' };
  const load = loadNativeAddon();
  if (!load.addon)
    return { name: 'native', available: false, detail: `native engine addon: ${load.reason}`, fix: NATIVE_FIX };
  const info = load.addon.info();
  return {
    name: 'native',
    available: true,
    detail: `oneDNN ${info.onednn} (${info.isa}, ${info.cpuRuntime}) kernels over the wasm heap, ${engineThreads()} threads`,
  };
}

async function probeWasm(): Promise<BackendProbe> {
  if (!(await importOptional('@tensorflow/tfjs-backend-wasm'))) {
    return { name: 'wasm', available: false, detail: '@tensorflow/tfjs-backend-wasm not installed', fix: 'npm ci' };
  }
  const simd = await wasmHasSimd();
  return {
    name: 'wasm',
    available: true,
    detail: `WebAssembly backend (SIMD ${simd ? 'on' : 'off'}, single thread in Node)`,
  };
}

/** Whether this Node's WebAssembly runs SIMD, which the wasm backend uses when present (≈2-3× faster). */
export async function wasmHasSimd(): Promise<boolean> {
  return Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
}

/** Backends in order of preference: `auto` takes the first available. */
const PREFERENCE = ['tensorflow', 'webgpu', 'native', 'wasm', 'cpu'] as const;

const PROBES: Record<BackendName, () => Promise<BackendProbe>> = {
  tensorflow: probeTensorflow,
  webgpu: probeWebgpu,
  native: probeNative,
  wasm: probeWasm,
  cpu: async () => ({ name: 'cpu', available: true, detail: 'pure JavaScript backend (slow)' }),
};

/** Probes every route in order of preference, without switching the active backend. */
export async function probeBackends(): Promise<BackendProbe[]> {
  const probes: BackendProbe[] = [];
  for (const name of PREFERENCE) probes.push(await PROBES[name]());
  return probes;
}

async function activate(name: BackendName): Promise<void> {
  if (name === NATIVE_BACKEND) {
    const { addon } = loadNativeAddon();
    addon!.setThreads(engineThreads());
    registerNativeBackend(addon!);
  }
  if (!(await tf.setBackend(name)))
    throw new UserError(`the ${name} backend failed to initialise`, 'try --backend cpu');
  await tf.ready();
  if (name === 'wasm') {
    const { registerWasmTrainingKernels } = await import('./kernels/index.js');
    registerWasmTrainingKernels();
  }
}

async function choose(request: BackendRequest): Promise<BackendChoice> {
  tf.enableProdMode();
  if (request !== 'auto') {
    const probe = await PROBES[request]();
    if (!probe.available) {
      throw new UserError(`backend "${request}" is not available: ${probe.detail}`, probe.fix);
    }
    await activate(request);
    return { name: request, reason: `requested; ${probe.detail}` };
  }
  const skipped: string[] = [];
  for (const name of PREFERENCE) {
    const probe = await PROBES[name]();
    if (probe.available) {
      await activate(name);
      const why = skipped.length ? ` (${skipped.join('; ')})` : '';
      return { name, reason: `auto: ${probe.detail}${why}` };
    }
    skipped.push(`${name}: ${probe.detail}`);
  }
  throw new UserError('no TensorFlow.js backend could be initialised');
}

/**
 * Sets up TensorFlow.js. `request` defaults to SIMKIT_BACKEND, then `auto`: tensorflow (tfjs-node-gpu / tfjs-node) >
 * webgpu > native (oneDNN over wasm) > wasm > cpu. Once a backend is active, `auto` and a request for that same backend
 * return it; a request for another backend switches to it. Rejects with a UserError (what is wrong, and the fix) for an
 * unknown or unavailable backend.
 */
export function initEngine(request: string | undefined = process.env.SIMKIT_BACKEND): Promise<BackendChoice> {
  const result = pending.then(async () => {
    const wanted = parseBackend(request);
    if (active && (wanted === 'auto' || wanted === active.name)) return active;
    active = await choose(wanted);
    const precision = applyPrecision(process.env.SIMKIT_PRECISION, active.name, loadNativeAddon().addon);
    log.info(
      `backend: ${active.name} (${active.reason})${precision === 'f32' ? '' : `, ${precision} convolutions and matmuls`}`,
    );
    return active;
  });
  pending = result.catch(() => undefined);
  return result;
}
