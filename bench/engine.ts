// Training speed of a small CNN on the routes a user of this machine has: wasm with simkit's
// training kernels, stock wasm (its own slow Conv2DBackpropInput, and the cpu backend's kernels
// over copies for the gradient kernels it lacks entirely), the pure-JS cpu backend, and PyTorch
// (CPU, one thread) where python3-torch is installed. `--full` also runs the slow routes at batch 128
// (several minutes); by default they run at batch 32 only to keep the benchmark near two minutes.
// Then, where the native engine is built: MobileNetV2's depthwise 3×3 layers (forward and both
// gradients) on the native engine and on wasm against PyTorch, and the mobilenet-v2 backbone's
// images/s with the native depthwise kernels and with wasm's. `--sections cnn,depthwise` picks
// the parts (both by default).
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../core/engine/backend.js';
import { useWasmTrainingKernels, type WasmKernelRoute } from '../core/engine/kernels/index.js';
import { loadNativeAddon } from '../core/engine/native/addon.js';
import { NATIVE_BACKEND } from '../core/engine/native/kernels.js';
import { packaged, PACKAGED_DEFAULTS } from '../plugins/backbones/packaged.js';
import { argument, machineLine, printTable, referenceThreads } from './harness.js';

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

/** MobileNetV2's depthwise 3×3 layers at 224 px: side of the input map, channels, stride. */
const DEPTHWISE_LAYERS = [
  [112, 32, 1],
  [112, 96, 2],
  [56, 144, 1],
  [56, 144, 2],
  [28, 192, 1],
  [28, 192, 2],
  [14, 384, 1],
  [14, 576, 1],
  [14, 576, 2],
  [7, 960, 1],
] as const;
const DEPTHWISE_BATCH = Number(process.env.DEPTHWISE_BATCH ?? 8);
const DEPTHWISE_BUDGET_MS = 1_000;
const DEPTHWISE_KERNELS = [
  'DepthwiseConv2dNative',
  'FusedDepthwiseConv2D',
  'DepthwiseConv2dNativeBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
] as const;

/** Repeats `pass` for about `budgetMs` (at least 3 times) after one untimed pass; mean ms per pass. */
function meanMs(pass: () => void, budgetMs: number): number {
  pass();
  const start = performance.now();
  let passes = 0;
  while (passes < 3 || performance.now() - start < budgetMs) {
    pass();
    passes++;
  }
  return (performance.now() - start) / passes;
}

/** ms of one depthwise layer's forward pass and both gradients (the kernels a training step runs) on `backend`. */
async function depthwiseMs(
  backend: string,
  [side, channels, stride]: readonly [number, number, number],
): Promise<number> {
  await tf.setBackend(backend);
  const [x, filter] = [
    tf.randomUniform([DEPTHWISE_BATCH, side, side, channels]),
    tf.randomUniform([3, 3, channels, 1]),
  ];
  const attrs = { strides: stride, pad: 'same', dilations: 1, dataFormat: 'NHWC' };
  const dy = tf.randomUniform(tf.depthwiseConv2d(x as tf.Tensor4D, filter as tf.Tensor4D, stride, 'same').shape);
  try {
    return meanMs(() => {
      const outputs = [
        tf.depthwiseConv2d(x as tf.Tensor4D, filter as tf.Tensor4D, stride, 'same'),
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { ...attrs, inputShape: x.shape }),
        tf
          .engine()
          .runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: filter.shape }),
      ] as tf.Tensor[];
      outputs[2]!.dataSync();
      tf.dispose(outputs);
    }, DEPTHWISE_BUDGET_MS);
  } finally {
    tf.dispose([x, filter, dy]);
  }
}

const PYTORCH_DEPTHWISE = `
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
batch, budget = int(sys.argv[2]), float(sys.argv[3])
out = []
for side, channels, stride in json.loads(sys.argv[4]):
    x = torch.rand(batch, channels, side, side, requires_grad=True)
    w = torch.rand(channels, 1, 3, 3, requires_grad=True)
    dy = torch.rand_like(torch.nn.functional.conv2d(x, w, stride=stride, padding=1, groups=channels))
    def step():
        y = torch.nn.functional.conv2d(x, w, stride=stride, padding=1, groups=channels)
        torch.autograd.grad(y, (x, w), dy)
    step()
    passes, start = 0, time.perf_counter()
    while passes < 3 or time.perf_counter() - start < budget:
        step()
        passes += 1
    out.append((time.perf_counter() - start) * 1000 / passes)
print(json.dumps({"torch": torch.__version__, "ms": out}))
`;

/** PyTorch's ms per layer (conv2d with groups = channels, then autograd.grad of input and weights), NCHW. */
function pytorchDepthwiseMs(threads: number): number[] | undefined {
  const run = spawnSync(
    '/usr/bin/python3',
    [
      '-c',
      PYTORCH_DEPTHWISE,
      String(threads),
      String(DEPTHWISE_BATCH),
      String(DEPTHWISE_BUDGET_MS / 1000),
      JSON.stringify(DEPTHWISE_LAYERS),
    ],
    { encoding: 'utf8', timeout: 300_000, env: { ...process.env, OMP_NUM_THREADS: String(threads) } },
  );
  if (run.status !== 0) return undefined;
  return (JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { ms: number[] }).ms;
}

/**
 * Runs `body` with the native backend's depthwise kernels replaced by wasm's (the route before the native ones), then
 * restores them.
 */
async function withWasmDepthwise<T>(body: () => Promise<T>): Promise<T> {
  const native = DEPTHWISE_KERNELS.map((name) => tf.getKernel(name, NATIVE_BACKEND));
  for (const name of DEPTHWISE_KERNELS) {
    tf.unregisterKernel(name, NATIVE_BACKEND);
    tf.registerKernel({ ...tf.getKernel(name, 'wasm'), backendName: NATIVE_BACKEND });
  }
  try {
    return await body();
  } finally {
    for (const config of native) {
      tf.unregisterKernel(config.kernelName, NATIVE_BACKEND);
      tf.registerKernel(config);
    }
  }
}

const MOBILENET_SIZE = Number(process.env.MOBILENET_SIZE ?? 96);
const MOBILENET_BATCH = Number(process.env.MOBILENET_BATCH ?? 32);
const MOBILENET_BUDGET_MS = 4_000;

/**
 * images/s of the mobilenet-v2 backbone (default cut, GeM, 128-d neck) at MOBILENET_SIZE px: frozen embedding
 * (inference) and a fine-tuning step with every layer trainable (softmax head over 10 classes, Adam).
 */
function mobilenetImagesPerSecond(): { embed: number; fineTune: number } {
  const input = { height: MOBILENET_SIZE, width: MOBILENET_SIZE, channels: 3 };
  const build = (trainable: boolean) => packaged('mobilenet-v2')({ ...PACKAGED_DEFAULTS, trainable })(input, 128, 1);
  const x = tf.randomUniform([MOBILENET_BATCH, MOBILENET_SIZE, MOBILENET_SIZE, 3]);
  const labels = tf.oneHot(tf.randomUniform([MOBILENET_BATCH], 0, 10, 'int32'), 10);
  const frozen = build(false);
  const embedMs = meanMs(() => {
    const y = frozen.predict(x) as tf.Tensor;
    y.dataSync();
    y.dispose();
  }, MOBILENET_BUDGET_MS);
  frozen.dispose();
  const model = build(true);
  const head = tf.layers.dense({ units: 10 });
  const optimizer = tf.train.adam(1e-4);
  const stepMs = meanMs(() => {
    const loss = optimizer.minimize(
      () =>
        tf.losses.softmaxCrossEntropy(labels, head.apply(model.apply(x, { training: true })) as tf.Tensor) as tf.Scalar,
      true,
    )!;
    loss.dataSync();
    loss.dispose();
  }, MOBILENET_BUDGET_MS);
  tf.dispose([x, labels]);
  optimizer.dispose();
  model.dispose();
  return { embed: (MOBILENET_BATCH * 1000) / embedMs, fineTune: (MOBILENET_BATCH * 1000) / stepMs };
}

async function depthwiseSection(): Promise<void> {
  const load = loadNativeAddon();
  if (!load.addon) {
    process.stdout.write(`\nnative engine not available (${load.reason}): depthwise rows not run\n`);
    return;
  }
  await initEngine('native');
  process.stdout.write(
    `\nMobileNetV2's depthwise 3×3 layers (224 px), batch ${DEPTHWISE_BATCH}: forward + input gradient + filter ` +
      'gradient, ms per layer; speed = PyTorch (every core) ms ÷ native ms (above 1: native faster)\n' +
      `${machineLine()}\n\n`,
  );
  const native: number[] = [];
  for (const layer of DEPTHWISE_LAYERS) native.push(await depthwiseMs(NATIVE_BACKEND, layer));
  const wasm: number[] = [];
  for (const layer of DEPTHWISE_LAYERS) wasm.push(await depthwiseMs('wasm', layer));
  await tf.setBackend(NATIVE_BACKEND);
  const threads = referenceThreads();
  const torch = threads.map((count) => pytorchDepthwiseMs(count));
  const reference = torch.at(-1);
  const ms = (value: number | undefined) => (value === undefined ? '—' : value.toFixed(2));
  const total = (values: readonly number[] | undefined) => values?.reduce((a, b) => a + b, 0);
  const rows = [
    ...DEPTHWISE_LAYERS.map((layer, i) => [i, `${layer[0]}×${layer[0]}×${layer[1]} /${layer[2]}`] as const),
    [-1, 'all 10 layers'] as const,
  ].map(([i, label]) => {
    const pick = (values: readonly number[] | undefined) => (i < 0 ? total(values) : values?.[i]);
    const [n, r] = [pick(native)!, pick(reference)];
    return [
      label,
      ms(n),
      ms(pick(wasm)),
      ...torch.map((values) => ms(pick(values))),
      r === undefined ? '—' : `${(r / n).toFixed(2)}×`,
    ];
  });
  printTable(
    [
      'layer (input, stride)',
      'native ms',
      'wasm ms',
      ...threads.map((t) => `PyTorch ${t} thread${t === 1 ? '' : 's'} ms`),
      'speed vs PyTorch',
    ],
    rows,
  );
  if (!reference) process.stdout.write('PyTorch reference not run (install python3-torch)\n');

  process.stdout.write(
    `\nmobilenet-v2 backbone (nsfwjs weights, cut at block_10_project_BN, GeM, 128-d neck), ${MOBILENET_SIZE} px, ` +
      `batch ${MOBILENET_BATCH}, images/s on the native engine\n\n`,
  );
  const withNative = mobilenetImagesPerSecond();
  const withWasm = await withWasmDepthwise(async () => mobilenetImagesPerSecond());
  printTable(
    ['depthwise kernels', 'frozen embedding images/s', 'fine-tuning step images/s'],
    [
      ['wasm (before)', withWasm.embed.toFixed(1), withWasm.fineTune.toFixed(1)],
      ['native', withNative.embed.toFixed(1), withNative.fineTune.toFixed(1)],
      [
        'native ÷ wasm',
        `${(withNative.embed / withWasm.embed).toFixed(2)}×`,
        `${(withNative.fineTune / withWasm.fineTune).toFixed(2)}×`,
      ],
    ],
  );
}

const sections = (argument('sections') ?? 'cnn,depthwise').split(',');
if (sections.includes('cnn')) await main();
if (sections.includes('depthwise')) await depthwiseSection();
