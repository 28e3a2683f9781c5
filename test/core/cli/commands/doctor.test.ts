import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../../core/cli/main.js';
import { missingComponents, type Check } from '../../../../core/cli/commands/doctor.js';
import { configureLogging } from '../../../../core/log.js';

const savedRequest = process.env.SIMKIT_BACKEND;
afterEach(() => {
  if (savedRequest === undefined) delete process.env.SIMKIT_BACKEND;
  else process.env.SIMKIT_BACKEND = savedRequest;
  configureLogging({ verbose: false, quiet: false });
  vi.restoreAllMocks();
});

/** Runs the CLI in-process and returns its exit code with everything it wrote. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const capture = (into: string[]) => (chunk: string | Uint8Array) => {
    into.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture(out));
  vi.spyOn(process.stderr, 'write').mockImplementation(capture(err));
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    vi.restoreAllMocks();
  }
}

const STACK_FRAME = /^\s+at /m;
const require = createRequire(import.meta.url);
const nodeBackendInstalled = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((name) => {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
});

describe('simkit doctor', () => {
  it('reports the native backend and engine, SIMD, native faiss, sharp, better-sqlite3 and the GPU routes', async () => {
    const { code, stdout } = await run(['doctor']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^backend\s+ok\s+native: auto: oneDNN /m);
    expect(stdout).toMatch(
      /^native engine\s+ok\s+oneDNN \d+\.\d+\.\d+, instruction set \w+, openmp with \d+ thread\(s\) /m,
    );
    expect(stdout).toMatch(
      /^native engine .*kernels: BatchMatMul, .*Conv2DBackpropFilter, .*SimkitFusedAdam; --precision bf16: (available|not on this CPU) \(\S+\)$/m,
    );
    expect(stdout).toMatch(/^wasm simd\s+ok\s+on$/m);
    expect(stdout).toMatch(
      /^faiss-node\s+ok\s+0\.5\.1 native addon \S+faiss-node\.node, built against the system libfaiss/m,
    );
    expect(stdout).toMatch(/^sharp\s+ok\s+sharp \d+\.\d+\.\d+, libvips \d+\.\d+/m);
    expect(stdout).toMatch(/^better-sqlite3\s+ok\s+\d+\.\d+\.\d+, SQLite 3\./m);
    expect(stdout).toMatch(/^gpu: tfjs-node-gpu\s+(ok|absent)/m);
    expect(stdout).toMatch(/^gpu: webgpu \(experimental\)\s+(ok|absent)/m);
  });

  it('writes the same checks as JSON with --json', async () => {
    const { code, stdout } = await run(['doctor', '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { ok: boolean; checks: Check[] };
    expect(report.ok).toBe(true);
    const byName = new Map(report.checks.map((check) => [check.name, check]));
    expect(byName.get('backend')).toMatchObject({
      ok: true,
      required: true,
      detail: expect.stringMatching(/^native: /),
    });
    expect(byName.get('faiss-node')).toMatchObject({ ok: true, detail: expect.stringContaining('system libfaiss') });
    expect(byName.get('gpu: tfjs-node-gpu')).toMatchObject({ required: false });
    if (!byName.get('gpu: tfjs-node-gpu')!.ok) expect(byName.get('gpu: tfjs-node-gpu')!.fix).toContain('make gpu');
  });

  it('fails with code 1 naming each missing required component and its fix', () => {
    const checks: Check[] = [
      { name: 'node', ok: true, required: true, detail: 'Node 20' },
      { name: 'faiss-node', ok: false, required: true, detail: 'did not load', fix: 'make setup' },
      { name: 'sharp', ok: false, required: true, detail: 'did not load', fix: 'npm ci' },
      { name: 'gpu: webgpu (experimental)', ok: false, required: false, detail: 'absent', fix: 'make webgpu' },
    ];
    const error = missingComponents(checks)!;
    expect(error.message).toBe('missing: faiss-node, sharp');
    expect(error.hint).toBe('make setup; npm ci');
    expect(error.exitCode).toBe(1);
    expect(missingComponents(checks.filter((check) => check.ok || !check.required))).toBeUndefined();
  });
});

describe('bad backend input', () => {
  it.each(['0', 'abc', '2.5', '-1'])(
    '--threads %s is refused before any work, exit 2, naming the flag',
    async (threads) => {
      const { code, stderr } = await run(['--threads', threads, 'doctor']);
      expect(code).toBe(2);
      expect(stderr).toBe(
        `simkit: threads must be a whole number from 1 to 1024, got "${threads}"\n  fix: pass --threads N or ` +
          `SIMKIT_THREADS=N, or leave it unset for every core\n`,
      );
    },
  );

  it('an unknown --backend is one usage line, exit 2, no stack', async () => {
    const { code, stderr } = await run(['--backend', 'tpu', 'doctor']);
    expect(code).toBe(2);
    expect(stderr).toContain(
      "argument 'tpu' is invalid. Allowed choices are auto, tensorflow, webgpu, native, wasm, cpu.",
    );
    expect(stderr).not.toMatch(STACK_FRAME);
  });

  it('an unknown SIMKIT_BACKEND says what is wrong and what to choose, exit 2, no stack', async () => {
    process.env.SIMKIT_BACKEND = 'tpu';
    const { code, stdout, stderr } = await run(['doctor']);
    expect(code).toBe(2);
    expect(stderr).toBe(
      'simkit: unknown backend "tpu"\n  fix: choose one of: auto, tensorflow, webgpu, native, wasm, cpu\n',
    );
    expect(stdout).toMatch(/^backend\s+MISSING\s+unknown backend "tpu"/m);
  });

  it.runIf(!nodeBackendInstalled)(
    '--backend tensorflow without tfjs-node: what is wrong and the fix, exit 2',
    async () => {
      const { code, stderr } = await run(['--backend', 'tensorflow', 'doctor']);
      expect(code).toBe(2);
      expect(stderr).toBe(
        'simkit: backend "tensorflow" is not available: @tensorflow/tfjs-node-gpu / @tensorflow/tfjs-node not installed\n' +
          '  fix: run `make gpu` (needs CUDA 11.2 + cuDNN 8.1 and a reachable libtensorflow mirror: TFJS_NODE_CDN_STORAGE)\n',
      );
    },
  );

  it.runIf(!nodeBackendInstalled)('--verbose adds the stack trace', async () => {
    const { code, stderr } = await run(['--verbose', '--backend', 'tensorflow', 'doctor']);
    expect(code).toBe(2);
    expect(stderr).toContain('simkit: backend "tensorflow" is not available');
    expect(stderr).toMatch(STACK_FRAME);
  });
});
