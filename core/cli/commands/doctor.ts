import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { initEngine, probeBackends, wasmHasSimd, type BackendChoice } from '../../engine/backend.js';
import { FUSED_ADAM } from '../../engine/adam.js';
import { registerWasmTrainingKernels } from '../../engine/kernels/index.js';
import { loadNativeAddon } from '../../engine/native/addon.js';
import { NATIVE_PLANNERS } from '../../engine/native/kernels.js';
import { isUserError, UserError } from '../../errors.js';
import { METRIC_INNER_PRODUCT, faiss } from '../../search/native.js';
import { PACKAGED_NETWORKS, weightsPackage, weightsSource } from '../../models/packaged-networks.js';

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  /** A missing required component makes `simkit doctor` exit 1; optional ones are informational. */
  readonly required: boolean;
  readonly detail: string;
  readonly fix?: string;
}

const SETUP_FIX = 'make setup';
const MINIMUM_NODE = [20, 19] as const;
const require = createRequire(import.meta.url);

function failure(name: string, error: unknown, fix: string): Check {
  const message = (error as Error)?.message?.split('\n')[0] ?? String(error);
  return { name, ok: false, required: true, detail: message, fix };
}

function checkNode(): Check {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  const ok = major > MINIMUM_NODE[0] || (major === MINIMUM_NODE[0] && minor >= MINIMUM_NODE[1]);
  return {
    name: 'node',
    ok,
    required: true,
    detail: `Node ${process.versions.node}${ok ? '' : ` (needs ≥ ${MINIMUM_NODE.join('.')})`}`,
    ...(ok ? {} : { fix: `install Node ${MINIMUM_NODE.join('.')} or later (Node 20 LTS)` }),
  };
}

async function checkBackend(): Promise<{ check: Check; choice?: BackendChoice; error?: UserError }> {
  try {
    const choice = await initEngine();
    return { check: { name: 'backend', ok: true, required: true, detail: `${choice.name}: ${choice.reason}` }, choice };
  } catch (error) {
    if (!isUserError(error)) throw error;
    const check = { name: 'backend', ok: false, required: true, detail: error.message, fix: error.hint ?? SETUP_FIX };
    return { check, error };
  }
}

/** The native engine: what it runs on and which kernels it takes over, or why it is absent. */
function checkNativeEngine(): Check {
  const load = loadNativeAddon();
  if (!load.addon)
    return {
      name: 'native engine',
      ok: false,
      required: false,
      detail: load.reason,
      fix: `${SETUP_FIX} (as root it installs libdnnl-dev and builds native/engine)`,
    };
  const info = load.addon.info();
  const bf16 = load.addon.bf16Support();
  return {
    name: 'native engine',
    ok: true,
    required: false,
    detail:
      `oneDNN ${info.onednn}, instruction set ${info.isa}, ${info.cpuRuntime} with ${info.threads} thread(s) ` +
      `(--threads / SIMKIT_THREADS), ${load.path}; kernels: ${[...Object.keys(NATIVE_PLANNERS), FUSED_ADAM].join(', ')}; ` +
      `--precision bf16: ${bf16.supported ? 'available' : 'not on this CPU'} (${bf16.implementation})`,
  };
}

async function checkWasmKernels(choice: BackendChoice | undefined): Promise<Check[]> {
  if (choice?.name !== 'wasm' && choice?.name !== 'native') return [];
  const simd = await wasmHasSimd();
  return [
    {
      name: 'wasm simd',
      ok: simd,
      required: false,
      detail: simd ? 'on' : 'off (this Node lacks WebAssembly SIMD; training runs 2-3× slower)',
      ...(simd ? {} : { fix: 'use Node 20 or later' }),
    },
    {
      name: 'wasm kernels',
      ok: true,
      required: false,
      detail: `training kernels added to wasm: ${registerWasmTrainingKernels().join(', ')}`,
    },
  ];
}

/**
 * What the faiss-node addon was compiled against, from its CMake cache (scripts/build-faiss.mjs builds against the
 * system libfaiss).
 */
function faissBuild(packageDir: string): string {
  const cache = join(packageDir, 'build', 'CMakeCache.txt');
  if (!existsSync(cache)) return 'build details unknown (no build/CMakeCache.txt)';
  const faissDir = /^faiss_DIR:PATH=(.*)$/m.exec(readFileSync(cache, 'utf8'))?.[1];
  return faissDir ? `built against the system libfaiss (${faissDir})` : "built from faiss-node's vendored faiss";
}

function checkFaiss(): Check {
  try {
    const packageJson = require.resolve('faiss-node/package.json');
    const packageDir = dirname(packageJson);
    const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
    const addon = join(packageDir, 'build', 'Release', 'faiss-node.node');
    const index = faiss().Index.fromFactory(2, 'Flat', METRIC_INNER_PRODUCT);
    index.add(Float32Array.of(1, 0, 0, 1));
    if (index.search(Float32Array.of(0, 1), 1).labels[0] !== 1n)
      throw new Error('a test search returned the wrong neighbour');
    return {
      name: 'faiss-node',
      ok: true,
      required: true,
      detail: `${version} native addon ${addon}, ${faissBuild(packageDir)}`,
    };
  } catch (error) {
    return failure('faiss-node', error, `${SETUP_FIX} (as root it installs libfaiss-dev and builds the addon)`);
  }
}

function checkSharp(): Check {
  try {
    const sharp = require('sharp') as { versions: Record<string, string | undefined> };
    return {
      name: 'sharp',
      ok: true,
      required: true,
      detail: `sharp ${sharp.versions.sharp ?? '?'}, libvips ${sharp.versions.vips ?? '?'}`,
    };
  } catch (error) {
    return failure('sharp', error, 'npm ci (sharp installs prebuilt libvips packages)');
  }
}

function checkSqlite(): Check {
  try {
    const Database = require('better-sqlite3') as typeof import('better-sqlite3');
    const database = new Database(':memory:');
    const { version } = database.prepare('select sqlite_version() as version').get() as { version: string };
    database.close();
    const { version: packageVersion } = require('better-sqlite3/package.json') as { version: string };
    return { name: 'better-sqlite3', ok: true, required: true, detail: `${packageVersion}, SQLite ${version}` };
  } catch (error) {
    return failure('better-sqlite3', error, 'npm rebuild better-sqlite3');
  }
}

function checkPretrainedWeights(): Check {
  const found = weightsPackage();
  return {
    name: 'pretrained weights',
    ok: found !== null,
    required: false,
    detail: `${PACKAGED_NETWORKS.map((network) => network.name).join(', ')} from ${weightsSource()}`,
    fix: 'npm ci (the weights install with the npm package nsfwjs; nothing is downloaded at run time)',
  };
}

/** The accelerated routes, whether or not they were chosen: found, or why not and how to get them. */
async function checkGpuRoutes(): Promise<Check[]> {
  const probes = await probeBackends();
  return probes
    .filter((probe) => probe.name === 'tensorflow' || probe.name === 'webgpu')
    .map((probe) => ({
      name: probe.name === 'tensorflow' ? 'gpu: tfjs-node-gpu' : 'gpu: webgpu (experimental)',
      ok: probe.available,
      required: false,
      detail: probe.detail,
      ...(probe.fix && !probe.available ? { fix: probe.fix } : {}),
    }));
}

export interface Diagnosis {
  readonly checks: Check[];
  /** Set when the backend requested by --backend / SIMKIT_BACKEND cannot be used. */
  readonly backendError?: UserError;
}

/** Checks the components simkit needs, in the order a user would fix them. */
export async function diagnose(): Promise<Diagnosis> {
  const backend = await checkBackend();
  const checks = [
    checkNode(),
    backend.check,
    checkNativeEngine(),
    ...(await checkWasmKernels(backend.choice)),
    checkFaiss(),
    checkSharp(),
    checkSqlite(),
    checkPretrainedWeights(),
    ...(await checkGpuRoutes()),
  ];
  return backend.error ? { checks, backendError: backend.error } : { checks };
}

function formatText(checks: Check[]): string {
  const width = Math.max(...checks.map((check) => check.name.length));
  return checks
    .map((check) => {
      const status = check.ok ? 'ok     ' : check.required ? 'MISSING' : 'absent ';
      const fix = check.ok || !check.fix ? '' : `\n  ${' '.repeat(width + 9)}fix: ${check.fix}`;
      return `${check.name.padEnd(width)}  ${status}  ${check.detail}${fix}`;
    })
    .join('\n');
}

export function registerDoctor(program: Command, _context: CliContext): void {
  program
    .command('doctor')
    .description('check the installation: backend, native engine, faiss-node, sharp, better-sqlite3, GPU routes')
    .option('--json', 'machine-readable output on stdout')
    .action(async (options: { json?: boolean }) => {
      const { checks, backendError } = await diagnose();
      const output = options.json
        ? JSON.stringify({ ok: checks.every((c) => c.ok || !c.required), checks }, null, 2)
        : formatText(checks);
      process.stdout.write(`${output}\n`);
      if (backendError) throw backendError;
      const missing = missingComponents(checks);
      if (missing) throw missing;
    });
}

/** The error `simkit doctor` exits with (code 1) when a required component is missing, naming each fix. */
export function missingComponents(checks: readonly Check[]): UserError | undefined {
  const missing = checks.filter((check) => check.required && !check.ok);
  if (missing.length === 0) return undefined;
  const fixes = [...new Set(missing.map((check) => check.fix ?? SETUP_FIX))];
  return new UserError(`missing: ${missing.map((check) => check.name).join(', ')}`, fixes.join('; '), 1);
}
