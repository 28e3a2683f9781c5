/**
 * Where a training step's time goes, per backend: tf.profile of one step of core/training's loop
 * (trainEmbedding: L2-normalised embeddings, dense softmax head, cross-entropy, Adam, clip-norm 5)
 * on each network of bench/networks.ts, as the top kernels' share of the time spent in kernels, and of
 * one chunk of the pipeline's embedding route (embedInChunks); then
 * sgemm GFLOP/s (tf.matMul, float32) on each backend next to PyTorch's torch.mm on one thread and on
 * every core, the ceiling the dense layers can reach.
 *
 * Backends from `--backends` or BACKENDS (comma-separated; default wasm,native), so that one run shows
 * before and after; one that is not available is reported and skipped. NETWORKS picks networks.
 * Kernel times are wall times of each kernel call, meaningful where kernels run synchronously (wasm).
 */
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { Simkit } from '../core/di/container.js';
import { initEngine, type BackendChoice } from '../core/engine/backend.js';
import { isUserError } from '../core/errors.js';
import { startKernelProfile, type KernelProfile, type KernelProfiling, type KernelTotal } from './kernel-profile.js';
import { argument, machineLine, printTable, pytorch, referenceThreads, runBenchmark } from './harness.js';
import { embedInChunks } from '../core/pipeline/model-inputs.js';
import {
  benchItems,
  EMBED_BATCH,
  embeddingInputs,
  selectedNetworks,
  trainNetwork,
  type BenchNetwork,
} from './networks.js';

const TOP = 10;
const SGEMM_SECONDS = 0.5;
/** [m, k, n, what]: 1024³, and the MLP's products at batch 128 (784→512→128). */
const SGEMM_SHAPES: readonly (readonly [number, number, number, string])[] = [
  [1024, 1024, 1024, '1024³'],
  [128, 784, 512, 'MLP layer 1 forward'],
  [784, 128, 512, 'MLP layer 1 weight gradient'],
  [128, 512, 128, 'MLP layer 2 forward'],
  [128, 128, 512, 'MLP layer 2 input gradient'],
  [512, 128, 128, 'MLP layer 2 weight gradient'],
];

interface StepProfile extends KernelProfile {
  /** Wall time of the profiled step, profiler included. */
  readonly wallMs: number;
}

/**
 * Profiles one training step: the trainer runs two epochs of one step each, and `validate`, which it
 * calls after each epoch, starts the kernel profile after the first and stops it after the second.
 */
async function profileStep(app: Simkit, network: BenchNetwork): Promise<StepProfile> {
  let profiling: KernelProfiling | undefined;
  let profile: KernelProfile | undefined;
  let started = 0;
  let wallMs = 0;
  await trainNetwork(app, network, 1, async () => {
    if (!profiling) {
      profiling = startKernelProfile();
      started = performance.now();
    } else if (!profile) {
      wallMs = performance.now() - started;
      profile = await profiling.stop();
    }
    return {};
  });
  return { ...profile!, wallMs };
}

/** Profiles the second of two chunks of core/pipeline's embedding route (the first builds kernels and folds). */
async function profileEmbedding(network: BenchNetwork): Promise<StepProfile> {
  const inputs = embeddingInputs(network);
  const model = network.build(1);
  try {
    await embedInChunks(model, benchItems(EMBED_BATCH), inputs, () => {});
    const profiling = startKernelProfile();
    const started = performance.now();
    await embedInChunks(model, benchItems(EMBED_BATCH), inputs, () => {});
    const wallMs = performance.now() - started;
    return { ...(await profiling.stop()), wallMs };
  } finally {
    model.dispose();
  }
}

const sum = (kernels: readonly KernelTotal[]) => kernels.reduce((total, kernel) => total + kernel.ms, 0);
const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`;

/** Prints a profile; `what` names what was profiled, e.g. "training step, batch 64". */
function printProfile(network: BenchNetwork, backend: string, what: string, profile: StepProfile): void {
  const inKernels = sum(profile.kernels);
  const calls = profile.kernels.reduce((total, kernel) => total + kernel.calls, 0);
  process.stdout.write(
    `\n${network.label}, ${what}, on ${backend}: ${profile.wallMs.toFixed(1)} ms wall, ` +
      `${inKernels.toFixed(1)} ms in ${calls} kernel calls of ${profile.kernels.length} ` +
      `kernels${profile.untimed ? ` (${profile.untimed} calls untimed)` : ''}\n`,
  );
  let cumulative = 0;
  const rows = profile.kernels.slice(0, TOP).map((kernel, rank) => {
    cumulative += kernel.ms;
    return [
      `${rank + 1}. ${kernel.name}`,
      String(kernel.calls),
      kernel.ms.toFixed(2),
      percent(kernel.ms, inKernels),
      percent(cumulative, inKernels),
    ];
  });
  const rest = profile.kernels.slice(TOP);
  if (rest.length > 0)
    rows.push([
      `other ${rest.length} kernels`,
      String(rest.reduce((t, k) => t + k.calls, 0)),
      sum(rest).toFixed(2),
      percent(sum(rest), inKernels),
      '100.0%',
    ]);
  rows.push(['outside kernels (JS, data, profiler)', '', Math.max(0, profile.wallMs - inKernels).toFixed(2), '', '']);
  printTable(['kernel', 'calls', 'ms', 'share', 'cumulative'], rows);
}

/** The first backend's top kernels with each backend's time, and the step's time in kernels. */
function printBeforeAfter(network: BenchNetwork, profiles: readonly (readonly [string, StepProfile])[]): void {
  const [first, ...others] = profiles;
  const time = (profile: StepProfile, name: string) => profile.kernels.find((kernel) => kernel.name === name)?.ms;
  const cell = (ms: number | undefined, base: number) =>
    ms === undefined ? '— (not called)' : `${ms.toFixed(2)} (${(base / ms).toFixed(base / ms < 1 ? 2 : 1)}×)`;
  const rows = first![1].kernels
    .slice(0, TOP)
    .map((kernel) => [
      kernel.name,
      kernel.ms.toFixed(2),
      ...others.map(([, profile]) => cell(time(profile, kernel.name), kernel.ms)),
    ]);
  const firstTotal = sum(first![1].kernels);
  rows.push([
    'all kernels',
    firstTotal.toFixed(2),
    ...others.map(([, profile]) => cell(sum(profile.kernels), firstTotal)),
  ]);
  rows.push([
    'step wall time',
    first![1].wallMs.toFixed(2),
    ...others.map(([, profile]) => cell(profile.wallMs, first![1].wallMs)),
  ]);
  process.stdout.write(
    `\n${network.label}: ms per step, ${first![0]}'s top ${TOP} kernels (speed-up against ${first![0]})\n`,
  );
  printTable(['kernel', ...profiles.map(([name]) => `${name} ms`)], rows);
}

/**
 * GFLOP/s of tf.matMul m×k · k×n: repeats sized from one timed call to last about SGEMM_SECONDS, read back once at the
 * end.
 */
async function matMulGflops(m: number, k: number, n: number): Promise<number> {
  const [a, b] = tf.tidy(
    () => [tf.randomUniform([m, k], 0, 1, 'float32', 1), tf.randomUniform([k, n], 0, 1, 'float32', 2)] as const,
  );
  const timed = async (repeats: number) => {
    const start = performance.now();
    const products = Array.from({ length: repeats }, () => tf.matMul(a, b));
    await products.at(-1)!.data();
    tf.dispose(products);
    return (performance.now() - start) / 1000;
  };
  try {
    await timed(1);
    const repeats = Math.min(1000, Math.max(3, Math.ceil(SGEMM_SECONDS / (await timed(1)))));
    return (2 * m * k * n * repeats) / (await timed(repeats)) / 1e9;
  } finally {
    tf.dispose([a, b]);
  }
}

function backendsRequested(): string[] {
  return (argument('backends') ?? process.env.BACKENDS ?? 'wasm,native')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}

async function main(): Promise<void> {
  const networks = selectedNetworks();
  const app = await Simkit.create();
  const profiles = new Map<BenchNetwork, [string, StepProfile][]>();
  const gflops = new Map<string, number[]>();
  process.stdout.write(
    `per-kernel profile of one training step (the second of two; a kernel built from other kernels counts theirs)\n${machineLine()}\n`,
  );
  for (const name of backendsRequested()) {
    let choice: BackendChoice;
    try {
      choice = await initEngine(name);
    } catch (error) {
      if (!isUserError(error)) throw error;
      process.stdout.write(
        `\nbackend ${name}: not available: ${error.message}${error.hint ? ` (${error.hint})` : ''}\n`,
      );
      continue;
    }
    process.stdout.write(`\nbackend ${choice.name}: ${choice.reason}\n`);
    for (const network of networks) {
      const profile = await profileStep(app, network);
      printProfile(network, choice.name, `training step, batch ${network.batch}`, profile);
      printProfile(network, choice.name, `embedding chunk of ${EMBED_BATCH}`, await profileEmbedding(network));
      profiles.set(network, [...(profiles.get(network) ?? []), [choice.name, profile]]);
    }
    const rates: number[] = [];
    for (const [m, k, n] of SGEMM_SHAPES) rates.push(await matMulGflops(m, k, n));
    gflops.set(choice.name, rates);
  }
  for (const network of networks) {
    const list = profiles.get(network) ?? [];
    if (list.length > 1) printBeforeAfter(network, list);
  }

  const specs = SGEMM_SHAPES.map(([m, k, n]) => `${m}:${k}:${n}`);
  const threads = referenceThreads();
  const references = threads.map((count) => [count, pytorch<Record<string, number>>('sgemm', count, specs)] as const);
  process.stdout.write(
    `\nsgemm, float32, GFLOP/s (2·m·k·n / time): tf.matMul on each backend, torch.mm ${references[0]![1]?.torch ?? ''} on this machine\n`,
  );
  const rows = SGEMM_SHAPES.map(([m, k, n, what], row) => [
    `${m}×${k} · ${k}×${n}  ${what}`,
    ...[...gflops.values()].map((rates) => rates[row]!.toFixed(1)),
    ...references.map(([, reference]) => reference?.results[specs[row]!]?.toFixed(1) ?? '—'),
  ]);
  printTable(
    [
      'm×k · k×n',
      ...[...gflops.keys()],
      ...references.map(([count]) => `PyTorch ${count} thread${count === 1 ? '' : 's'}`),
    ],
    rows,
  );
}

await runBenchmark(main);
