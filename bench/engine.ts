// Training speed of a small CNN on the routes a user of this machine has: wasm with simkit's
// training kernels, stock wasm (its own slow Conv2DBackpropInput, and the cpu backend's kernels
// over copies for the gradient kernels it lacks entirely), the pure-JS cpu backend, and PyTorch
// (CPU, one thread) where python3-torch is installed. `--full` also runs the slow routes at batch 128
// (several minutes); by default they run at batch 32 only to keep the benchmark near two minutes.
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../core/engine/backend.js';
import { useWasmTrainingKernels, type WasmKernelRoute } from '../core/engine/kernels/index.js';

const BATCHES = [32, 128] as const;
const STEP_BUDGET_MS = 5_000;
const MAX_STEPS = 10;
const full = process.argv.includes('--full');

interface Route {
  readonly label: string;
  readonly backend: 'wasm' | 'cpu';
  readonly kernels: WasmKernelRoute;
  /** Slow routes run one timed step, and only at batch 32 unless --full. */
  readonly slow: boolean;
}

const ROUTES: Route[] = [
  { label: 'wasm + simkit kernels', backend: 'wasm', kernels: 'fast', slow: false },
  { label: 'wasm, stock kernels', backend: 'wasm', kernels: 'stock', slow: true },
  { label: 'cpu backend', backend: 'cpu', kernels: 'fast', slow: true },
];

function smallCnn(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  return model;
}

function batchOf(size: number): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => [tf.randomUniform([size, 28, 28, 1]), tf.oneHot(tf.randomUniform([size], 0, 10, 'int32'), 10)]);
}

/** Mean ms per training step after a batch-1 warm-up step (graph building, weight creation). */
async function msPerStep(route: Route, batch: number): Promise<number> {
  await tf.setBackend(route.backend);
  useWasmTrainingKernels(route.kernels);
  const model = smallCnn();
  const warmUp = batchOf(1);
  const [x, y] = batchOf(batch);
  try {
    await model.trainOnBatch(warmUp[0], warmUp[1]);
    const maxSteps = route.slow ? 1 : MAX_STEPS;
    const start = performance.now();
    let steps = 0;
    while (steps < maxSteps && (steps === 0 || performance.now() - start < STEP_BUDGET_MS)) {
      await model.trainOnBatch(x, y);
      steps++;
    }
    return (performance.now() - start) / steps;
  } finally {
    tf.dispose([...warmUp, x, y]);
    model.dispose();
    useWasmTrainingKernels('fast');
  }
}

const PYTORCH = `
import sys, time, torch
torch.set_num_threads(1)
torch.manual_seed(0)
for batch in map(int, sys.argv[1:]):
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, 10))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    x, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    step()
    steps, start = 0, time.perf_counter()
    while steps < ${MAX_STEPS} and (steps == 0 or time.perf_counter() - start < ${STEP_BUDGET_MS / 1000}):
        step()
        steps += 1
    print(batch, (time.perf_counter() - start) * 1000 / steps)
`;

/** The same model and step in PyTorch, one CPU thread; undefined where torch is not installed. */
function pytorchMsPerStep(): Map<number, number> | undefined {
  const run = spawnSync('/usr/bin/python3', ['-c', PYTORCH, ...BATCHES.map(String)], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  if (run.status !== 0) return undefined;
  return new Map(
    run.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' ').map(Number) as [number, number]),
  );
}

function cell(ms: number | undefined, reference: number | undefined, note: string): string {
  if (ms === undefined) return note.padEnd(26);
  const ratio = reference === undefined ? '' : ` (${(ms / reference).toFixed(ms / reference >= 10 ? 0 : 2)}×)`;
  return `${ms.toFixed(0).padStart(7)} ms/step${ratio}`.padEnd(26);
}

async function main(): Promise<void> {
  const choice = await initEngine('wasm');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  process.stdout.write(
    'small CNN training step: conv3×3·32 → pool → conv3×3·64 → pool → dense 10, 28×28×1 input, Adam\n' +
      `backend ${choice.name} (SIMD ${simd ? 'on' : 'off'}); ratios are relative to wasm + simkit kernels\n\n`,
  );
  const header = `${'route'.padEnd(32)}${BATCHES.map((b) => `batch ${b}`.padEnd(26)).join('')}\n`;
  process.stdout.write(header);
  const fast = new Map<number, number>();
  for (const route of ROUTES) {
    const cells: string[] = [];
    for (const batch of BATCHES) {
      if (route.slow && batch !== BATCHES[0] && !full) {
        cells.push(cell(undefined, undefined, 'not run (use --full)'));
        continue;
      }
      const ms = await msPerStep(route, batch);
      if (route.kernels === 'fast' && route.backend === 'wasm') fast.set(batch, ms);
      cells.push(cell(ms, route === ROUTES[0] ? undefined : fast.get(batch), ''));
      (globalThis as { gc?: () => void }).gc?.();
    }
    process.stdout.write(`${route.label.padEnd(32)}${cells.join('')}\n`);
  }
  const pytorch = pytorchMsPerStep();
  const pytorchCells = BATCHES.map((batch) =>
    cell(pytorch?.get(batch), fast.get(batch), 'not available (python3-torch)'),
  );
  process.stdout.write(`${'pytorch cpu, 1 thread'.padEnd(32)}${pytorchCells.join('')}\n`);
  if (pytorch) {
    const ratios = BATCHES.map((batch) => `batch ${batch}: ${(fast.get(batch)! / pytorch.get(batch)!).toFixed(1)}×`);
    process.stdout.write(`\nwasm + simkit kernels vs pytorch (time ratio): ${ratios.join(', ')}\n`);
  }
}

await main();
