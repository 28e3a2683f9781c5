import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { initEngine, parseBackend, probeBackends } from '../../../core/engine/backend.js';
import { UserError } from '../../../core/errors.js';

const savedRequest = process.env.SIMKIT_BACKEND;
afterEach(() => {
  if (savedRequest === undefined) delete process.env.SIMKIT_BACKEND;
  else process.env.SIMKIT_BACKEND = savedRequest;
  vi.restoreAllMocks();
});

function captureStderr(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}

const require = createRequire(import.meta.url);
function installed(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}
/**
 * After `make gpu` / `make webgpu`, auto rightly picks another backend: these expectations are for a machine without
 * them.
 */
const withoutGpuRoutes = !['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', 'webgpu'].some(installed);

// One process, one engine: the order of these tests is the order a session would switch in.
describe.runIf(withoutGpuRoutes)('backend selection without the optional GPU packages', () => {
  it('auto picks the native engine on this machine, says why the faster routes were skipped, and logs it', async () => {
    delete process.env.SIMKIT_BACKEND;
    const stderr = captureStderr();
    const choice = await initEngine();
    expect(choice.name).toBe('native');
    expect(tf.getBackend()).toBe('native');
    expect(choice.reason).toMatch(/^auto: oneDNN 2\.\d+\.\d+ \(\w+, openmp\) kernels over the wasm heap, \d+ threads/);
    expect(choice.reason).toContain('tensorflow: @tensorflow/tfjs-node-gpu / @tensorflow/tfjs-node not installed');
    expect(choice.reason).toContain('webgpu: npm package `webgpu` not installed');
    expect(stderr.join('')).toContain(`backend: native (${choice.reason})`);
  });

  it('honours SIMKIT_BACKEND, keeps the active backend for auto, and switches on a new request', async () => {
    process.env.SIMKIT_BACKEND = 'cpu';
    const cpu = await initEngine();
    expect(cpu).toMatchObject({ name: 'cpu', reason: expect.stringMatching(/^requested; /) });
    expect(tf.getBackend()).toBe('cpu');
    expect(await initEngine('auto')).toBe(cpu);
    expect(await initEngine('cpu')).toBe(cpu);
    expect((await initEngine('wasm')).name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('rejects a backend that is not installed with the fix, and stays on the active one', async () => {
    const error = await initEngine('tensorflow').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe(
      'backend "tensorflow" is not available: @tensorflow/tfjs-node-gpu / @tensorflow/tfjs-node not installed',
    );
    expect((error as UserError).hint).toContain('make gpu');
    expect((error as UserError).hint).toContain('TFJS_NODE_CDN_STORAGE');
    expect((error as UserError).exitCode).toBe(2);
    expect(tf.getBackend()).toBe('wasm');
    expect((await initEngine()).name).toBe('wasm');
  });

  it('rejects an unknown backend name, listing the valid ones', async () => {
    expect(parseBackend(' WASM ')).toBe('wasm');
    expect(parseBackend(undefined)).toBe('auto');
    const error = await initEngine('gpu').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe('unknown backend "gpu"');
    expect((error as UserError).hint).toBe('choose one of: auto, tensorflow, webgpu, native, wasm, cpu');
  });

  it('probes every route with a reason and a fix for the missing GPU ones', async () => {
    const probes = await probeBackends();
    expect(probes.map((probe) => [probe.name, probe.available])).toEqual([
      ['tensorflow', false],
      ['webgpu', false],
      ['native', true],
      ['wasm', true],
      ['cpu', true],
    ]);
    expect(probes[0]!.fix).toContain('CUDA 11.2 + cuDNN 8.1');
    expect(probes[1]!.fix).toContain('make webgpu');
    expect(probes[1]!.fix).toContain('Vulkan');
  });
});
