/**
 * Memory of tuning the post-processing on a Shopee-like validation split, without training: the
 * split `simkit run shopee` makes of a generated set (bench/generate-shopee-like.ts), its first
 * `--queries` validation postings, and image and text vectors drawn around one centre per label
 * group. Runs the competition's chain tuning exactly as validation does, each size twice in a fresh
 * process: as simkit runs it (the old generation's growth held to core/heap.ts's HEAP_GROWTH_PERCENT)
 * and with V8's default growth as the reference. Prints the memory tuning adds (peak VmHWM, reset
 * just before, over the RSS before it), the time, and whether every setting scored the same.
 *
 *   node dist/bench/tune-memory.js --data DIR [--queries 1000,3000,10000] [--seed 42]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Item } from '../core/contracts/competition.js';
import type { TaskStrategy } from '../core/contracts/task.js';
import { Simkit } from '../core/di/container.js';
import { limitHeapGrowth } from '../core/heap.js';
import type { ScoredRunContext } from '../core/pipeline/context.js';
import { initialState, type EmbeddedSet } from '../core/pipeline/knn.js';
import { effectiveConfig, findCompetition } from '../core/pipeline/prepare.js';
import { splitForValidation } from '../core/pipeline/split.js';
import { validationScoring } from '../core/pipeline/validate.js';
import { DEFAULT_SEED, Random } from '../core/random.js';
import { resolveScoringSpec } from '../core/scoring/registration.js';
import { filledToCount } from '../core/tasks/fill.js';
import { argument, machineLine, printTable, runBenchmark } from './harness.js';

const DIM = 64;

function vmKb(field: 'VmHWM' | 'VmRSS'): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
}

/** L2-normalised vectors: each label group's centre plus noise of `spread` (cosine within a group ≈ 1/(1+spread²)). */
function groupVectors(items: readonly Item[], random: Random, spread: number): Float32Array {
  const centres = new Map<string, Float64Array>();
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
  const out = new Float32Array(items.length * DIM);
  items.forEach((item, i) => {
    const label = item.labels.join(' ');
    let centre = centres.get(label);
    if (!centre) centres.set(label, (centre = Float64Array.from({ length: DIM }, () => gaussian() / Math.sqrt(DIM))));
    let norm = 0;
    const row = Array.from({ length: DIM }, (_, d) => centre[d]! + (spread * gaussian()) / Math.sqrt(DIM));
    for (const value of row) norm += value * value;
    row.forEach((value, d) => (out[i * DIM + d] = value / Math.sqrt(norm)));
  });
  return out;
}

interface Measured {
  readonly queries: number;
  readonly settings: number;
  readonly seconds: number;
  readonly beforeMb: number;
  readonly peakMb: number;
  readonly best: string;
  readonly digest: string;
}

/** One tuning in this process: its time, the RSS before it and its peak (VmHWM, reset just before). */
async function measure(data: string, size: number, seed: number): Promise<Measured> {
  const app = await Simkit.create();
  const { competition } = findCompetition(app, 'shopee');
  const config = await effectiveConfig(app, { competition: 'shopee', data });
  const { validation } = splitForValidation(await competition.readTrain(data), config.validation, new Random(seed));
  const spec = resolveScoringSpec(app, competition.metric);
  const strategy = filledToCount(app.registry<TaskStrategy>('Task').create(competition.task), spec.metric.counted);
  const run = { app, competition, config, strategy, spec } as unknown as ScoredRunContext;
  const items = validation.slice(0, size);
  const random = new Random(seed);
  const image: EmbeddedSet = { items, vectors: groupVectors(items, random, 1.0) };
  const text = groupVectors(items, random, 1.2);
  const state = initialState(app, config.indexer, DIM, image, image, config.neighbours, {
    excludeSelf: strategy.excludeSelf,
    searchModel: 'image',
    models: { text: { dim: DIM, queryVectors: text, galleryVectors: text } },
  });
  const sets = { queries: items, gallery: items, truth: items };
  global.gc?.();
  const before = vmKb('VmRSS');
  writeFileSync('/proc/self/clear_refs', '5');
  const started = performance.now();
  const tuning = await validationScoring(run, [sets], DIM).tune(config.postProcessors, [state]);
  const seconds = (performance.now() - started) / 1000;
  const peak = vmKb('VmHWM');
  const scores = tuning.points.map((point) => `${JSON.stringify(point.overrides)}=${point.score}`).join('\n');
  return {
    queries: items.length,
    settings: tuning.points.length,
    seconds,
    beforeMb: Math.round(before / 1024),
    peakMb: Math.round(peak / 1024),
    best: `${JSON.stringify(tuning.best.overrides)} ${tuning.best.score?.toFixed(6)}`,
    digest: createHash('sha256').update(scores).digest('hex').slice(0, 16),
  };
}

/** The measurement in a fresh process; `defaultGrowth` gives node V8's default heap growth, which it then keeps. */
function measureApart(data: string, size: number, seed: number, defaultGrowth: boolean): Measured {
  const args = [
    '--expose-gc',
    ...(defaultGrowth ? ['--heap-growing-percent=0'] : []),
    fileURLToPath(import.meta.url),
    '--child',
    '--data',
    data,
    '--queries',
    String(size),
    '--seed',
    String(seed),
  ];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (child.status !== 0) throw new Error(`the measurement of ${size} queries failed:\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Measured;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const data = argument('data', argv);
  if (!data) throw new Error('--data DIR: a Shopee-like set (make shopee-like)');
  const sizes = (argument('queries', argv) ?? '1000,3000,10000').split(',').map(Number);
  const seed = Number(argument('seed', argv) ?? DEFAULT_SEED);
  if (argv.includes('--child')) {
    // As `simkit` starts (core/cli/main.ts); a child given --heap-growing-percent keeps V8's default.
    limitHeapGrowth();
    process.stdout.write(`${JSON.stringify(await measure(data, sizes[0]!, seed))}\n`);
    return;
  }
  process.stdout.write(`${machineLine()}\n`);
  const rows: string[][] = [];
  for (const size of sizes) {
    const reference = measureApart(data, size, seed, true);
    const measured = measureApart(data, size, seed, false);
    const added = (m: Measured) => m.peakMb - m.beforeMb;
    rows.push([
      String(measured.queries),
      String(measured.settings),
      `${measured.seconds.toFixed(1)} / ${reference.seconds.toFixed(1)}`,
      `${added(measured)} / ${added(reference)}`,
      (added(measured) / added(reference)).toFixed(2),
      `${measured.peakMb} / ${reference.peakMb}`,
      measured.digest === reference.digest
        ? `same (${measured.digest})`
        : `DIFFERENT ${measured.digest} ${reference.digest}`,
      measured.best,
    ]);
  }
  printTable(
    [
      'queries',
      'settings',
      's: held growth / V8 default',
      'MB added: held / default',
      'ratio',
      'peak RSS MB',
      'scores of every setting',
      'best',
    ],
    rows,
  );
}

await runBenchmark(main);
