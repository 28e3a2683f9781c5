/**
 * Training and embedding throughput of simkit's own routes on the networks of bench/networks.ts
 * (MLP, small CNN, ResNet-18 layout at 64×64), next to the identical networks and steps in PyTorch
 * (bench/train_reference.py) on this machine, with one thread and with every core; the ratios are
 * against every core.
 * - Training: core/training's trainEmbedding (L2-normalised embeddings, dense softmax head,
 *   cross-entropy, Adam, clip-norm 5); samples/s of its second and third epochs, two timed runs
 *   (the first epoch builds kernels and optimiser slots). Targets, training: every network ≥ 1.0×;
 *   embedding: CNN and ResNet ≥ 1.0×, MLP ≥ 0.7×.
 * - Embedding: core/pipeline's embedInChunks (inference, L2-normalised, chunks of 256) against
 *   PyTorch in eval mode under torch.no_grad(), two timed runs. Target ≥ 1.0× for each.
 * Each side is timed in RUNS runs back to back; the table prints them and their spread (largest − smallest over
 * the mean), which should stay within 10% for the ratios to be read; ratios are of the runs' means.
 * The backend comes from `--backend` or SIMKIT_BACKEND (default auto). NETWORKS=mlp,cnn,resnet picks
 * networks; TRAIN_<NET>_STEPS and EMBED_<NET>_BATCHES set the counts.
 * PRECISION=bf16 adds a training table in bf16 mixed precision (native backend): simkit's bf16 runs, each right after
 * its f32 runs of the same network, against PyTorch f32 (the target: ResNet ≥ 1.5×) and PyTorch's bf16 autocast.
 */
import 'reflect-metadata';
import { cpus } from 'node:os';
import { Simkit } from '../core/di/container.js';
import { initEngine } from '../core/engine/backend.js';
import { loadNativeAddon } from '../core/engine/native/addon.js';
import { applyPrecision, parsePrecision } from '../core/engine/native/precision.js';
import { embedInChunks } from '../core/pipeline/model-inputs.js';
import { backendRequest, machineLine, printTable, pytorch, referenceThreads, ratio, runBenchmark } from './harness.js';
import {
  benchItems,
  EMBED_BATCH,
  EMBEDDING_DIM,
  embeddingInputs,
  selectedNetworks,
  trainableParameters,
  trainNetwork,
  type BenchNetwork,
  type NetworkKey,
} from './networks.js';

/** bf16 training targets, as a fraction of PyTorch f32's samples/s on every core (the speed issue's). */
const BF16_TARGETS: Partial<Record<NetworkKey, number>> = { resnet: 1.5 };

/** Timed runs of each measurement, back to back. */
const RUNS = 2;
/** Largest spread of the runs of one row for its ratio to be read. */
const AGREEMENT = 0.1;

interface Measured {
  /** Samples/s of each run. */
  readonly runs: readonly number[];
  readonly samplesPerSecond: number;
  readonly parameters: number;
}

interface ReferenceResult {
  readonly runs: number[];
  readonly samples_per_second: number;
  readonly parameters: number;
}
type ReferenceResults = Partial<Record<NetworkKey, ReferenceResult>>;

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
/** (largest − smallest) / mean of the runs. */
const spread = (runs: readonly number[]) => (Math.max(...runs) - Math.min(...runs)) / mean(runs);

/** Samples/s of the epochs after the first (which builds kernels and slots), each a run of `trainSteps` batches. */
async function trainingThroughput(app: Simkit, network: BenchNetwork): Promise<Measured> {
  const model = network.build(1);
  const parameters = trainableParameters(model);
  model.dispose();
  const history = await trainNetwork(app, network, network.trainSteps, undefined, 1 + RUNS);
  const runs = history.slice(1).map((record) => record.samplesPerSecond);
  return { runs, samplesPerSecond: mean(runs), parameters };
}

/** Samples/s of the pipeline's embedding route, RUNS runs of `embedBatches` chunks after one untimed chunk. */
async function embeddingThroughput(network: BenchNetwork): Promise<Measured> {
  const inputs = embeddingInputs(network);
  const model = network.build(1);
  try {
    const ignore = () => {};
    await embedInChunks(model, benchItems(EMBED_BATCH), inputs, ignore);
    const runs: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      await embedInChunks(model, benchItems(network.embedBatches * EMBED_BATCH), inputs, ignore);
      runs.push((network.embedBatches * EMBED_BATCH) / ((performance.now() - started) / 1000));
    }
    return { runs, samplesPerSecond: mean(runs), parameters: trainableParameters(model) };
  } finally {
    model.dispose();
  }
}

function parametersCell(measured: Measured, reference: { parameters: number } | undefined): string {
  const own = measured.parameters.toLocaleString('en-US');
  if (!reference) return own;
  return reference.parameters === measured.parameters
    ? `${own} (same)`
    : `${own} (PyTorch ${reference.parameters.toLocaleString('en-US')}: NOT the same network)`;
}

interface ComparisonRow {
  readonly network: BenchNetwork;
  readonly batch: number;
  readonly target: number;
  readonly own: Measured;
  readonly single?: ReferenceResult;
  readonly all?: ReferenceResult;
}

/** Each run's samples/s and their spread: "1234 / 1250 (1%)", flagged past AGREEMENT. */
function runsCell(runs: readonly number[]): string {
  const flag = spread(runs) > AGREEMENT ? ' UNSTABLE' : '';
  return `${runs.map((rate) => rate.toFixed(0)).join(' / ')} (${(spread(runs) * 100).toFixed(0)}%${flag})`;
}

/** Prints the rows; returns "<kind> <network>" of those whose runs spread past AGREEMENT. */
function printComparison(kind: string, title: string, cores: number, rows: readonly ComparisonRow[]): string[] {
  process.stdout.write(`\n${title}\n`);
  const cells = rows.map(({ network, batch, target, own, single, all }) => {
    const one = single?.samples_per_second;
    const every = all?.samples_per_second;
    const verdict = every === undefined ? '' : own.samplesPerSecond / every >= target ? ' met' : ' NOT met';
    return [
      network.label,
      String(batch),
      runsCell(own.runs),
      one === undefined ? '—' : `${one.toFixed(0)} (${ratio(own.samplesPerSecond, one)})`,
      all === undefined ? '—' : runsCell(all.runs),
      ratio(own.samplesPerSecond, every),
      `≥ ${target.toFixed(1)}×${verdict}`,
      parametersCell(own, all ?? single),
    ];
  });
  printTable(
    [
      'network',
      'batch',
      `simkit samples/s, ${RUNS} runs (spread)`,
      'PyTorch 1 thread',
      `PyTorch ${cores} threads, ${RUNS} runs (spread)`,
      `ratio (vs ${cores})`,
      'target',
      'parameters',
    ],
    cells,
  );
  return rows
    .filter(({ own, all }) => spread(own.runs) > AGREEMENT || (all !== undefined && spread(all.runs) > AGREEMENT))
    .map(({ network }) => `${kind} ${network.label}`);
}

/** The bf16 table: simkit f32 and bf16, PyTorch f32 and bf16 autocast, all on every core. */
function printBf16(
  networks: readonly BenchNetwork[],
  f32: ReadonlyMap<NetworkKey, Measured>,
  bf16: ReadonlyMap<NetworkKey, Measured>,
  torchF32: ReferenceResults | undefined,
  specs: readonly string[],
  cores: number,
  unstable: string[],
): void {
  const torchBf16 = pytorch<ReferenceResults>('train', cores, specs, RUNS, 'bf16')?.results;
  process.stdout.write(
    `\nbf16 mixed-precision training, ${cores} threads (samples/s; bf16 convolutions and matmuls, f32 weights and loss;` +
      ` PyTorch: torch.autocast('cpu', bfloat16))\n`,
  );
  const rows = networks.map((network) => {
    const own = bf16.get(network.key)!;
    const ownF32 = f32.get(network.key)!;
    const [torch32, torch16] = [torchF32?.[network.key], torchBf16?.[network.key]];
    const target = BF16_TARGETS[network.key];
    const vsTorch = torch32 ? own.samplesPerSecond / torch32.samples_per_second : undefined;
    if (spread(own.runs) > AGREEMENT) unstable.push(`bf16 training ${network.label}`);
    return [
      network.label,
      runsCell(ownF32.runs),
      runsCell(own.runs),
      ratio(own.samplesPerSecond, ownF32.samplesPerSecond),
      torch32 ? runsCell(torch32.runs) : '—',
      torch16 ? runsCell(torch16.runs) : '—',
      ratio(own.samplesPerSecond, torch32?.samples_per_second),
      ratio(own.samplesPerSecond, torch16?.samples_per_second),
      target === undefined
        ? '—'
        : `≥ ${target.toFixed(1)}×${vsTorch === undefined ? '' : vsTorch >= target ? ' met' : ' NOT met'}`,
    ];
  });
  printTable(
    [
      'network',
      'simkit f32',
      'simkit bf16',
      'bf16 / f32',
      'PyTorch f32',
      'PyTorch bf16',
      'simkit bf16 / PyTorch f32',
      'simkit bf16 / PyTorch bf16',
      'target (vs PyTorch f32)',
    ],
    rows,
  );
}

async function main(): Promise<void> {
  const networks = selectedNetworks();
  const engine = await initEngine(backendRequest());
  const app = await Simkit.create();
  const cores = cpus().length;
  process.stdout.write(`simkit backend: ${engine.name} (${engine.reason})\n`);
  process.stdout.write(
    `${machineLine()}\ntraining: dense softmax head on L2-normalised ${EMBEDDING_DIM}-d embeddings, cross-entropy, Adam, clip 5\n`,
  );

  const bf16 = parsePrecision(process.env.PRECISION) === 'bf16';
  const addon = loadNativeAddon().addon;
  // Refused here, before any measurement, where bf16 cannot run.
  if (bf16) applyPrecision('bf16', engine.name, addon);
  const training = new Map<NetworkKey, Measured>();
  const trainingBf16 = new Map<NetworkKey, Measured>();
  const embedding = new Map<NetworkKey, Measured>();
  for (const network of networks) {
    applyPrecision('f32', engine.name, addon);
    training.set(network.key, await trainingThroughput(app, network));
    if (bf16) {
      applyPrecision('bf16', engine.name, addon);
      trainingBf16.set(network.key, await trainingThroughput(app, network));
      applyPrecision('f32', engine.name, addon);
    }
    embedding.set(network.key, await embeddingThroughput(network));
    (globalThis as { gc?: () => void }).gc?.();
  }
  const threads = referenceThreads();
  const trainSpecs = networks.map((n) => `${n.key}:${n.batch}:${n.trainSteps}`);
  const embedSpecs = networks.map((n) => `${n.key}:${EMBED_BATCH}:${n.embedBatches}`);
  const reference = (mode: 'train' | 'embed', specs: string[]) =>
    threads.map((t) => pytorch<ReferenceResults>(mode, t, specs, RUNS));
  const [trainSingle, trainAll = trainSingle] = reference('train', trainSpecs);
  const [embedSingle, embedAll = embedSingle] = reference('embed', embedSpecs);
  process.stdout.write(`PyTorch ${trainSingle?.torch ?? trainAll?.torch ?? '—'} on the same machine\n`);

  const unstable = printComparison(
    'training',
    'training throughput (samples/s of training steps)',
    cores,
    networks.map((network) => ({
      network,
      batch: network.batch,
      target: network.targets.train,
      own: training.get(network.key)!,
      single: trainSingle?.results[network.key],
      all: trainAll?.results[network.key],
    })),
  );
  unstable.push(
    ...printComparison(
      'embedding',
      `embedding throughput (inference, batches of ${EMBED_BATCH}; PyTorch in eval mode under torch.no_grad())`,
      cores,
      networks.map((network) => ({
        network,
        batch: EMBED_BATCH,
        target: network.targets.embed,
        own: embedding.get(network.key)!,
        single: embedSingle?.results[network.key],
        all: embedAll?.results[network.key],
      })),
    ),
  );
  if (bf16) printBf16(networks, training, trainingBf16, trainAll?.results, trainSpecs, cores, unstable);
  const counts = networks.map((n) => `${n.key} ${n.trainSteps}/${n.embedBatches}`).join(', ');
  process.stdout.write(
    `\ntimed training steps/embedding batches per run: ${counts} (TRAIN_<NET>_STEPS, EMBED_<NET>_BATCHES)\n` +
      (unstable.length === 0
        ? `every row's ${RUNS} runs agree within ${AGREEMENT * 100}%\n`
        : `runs spread past ${AGREEMENT * 100}% (busy machine, or too few steps): ${unstable.join('; ')}\n`),
  );
}

await runBenchmark(main);
