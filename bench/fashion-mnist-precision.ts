// Fashion-MNIST test accuracy of the same softmax classifier (bench/fashion-mnist-classifier.ts: `make fashion-mnist`'s
// CNN, dense head, same seed and batches) trained in f32 and in bf16 mixed precision (native backend: bf16
// convolutions and matmuls, f32 weights and loss). Target: bf16 within 0.005 of f32. Settings: DATA (IDX directory),
// FM_PRECISION_EPOCHS (default 2), FM_PRECISION_TRAIN (training images, default all 60,000).
import 'reflect-metadata';
import { resolve } from 'node:path';
import { Simkit } from '../core/di/container.js';
import { initEngine } from '../core/engine/backend.js';
import { loadNativeAddon } from '../core/engine/native/addon.js';
import { applyPrecision, type Precision } from '../core/engine/native/precision.js';
import { UserError } from '../core/errors.js';
import { readSplit, subset, SYSTEM_DATA_DIR } from '../competitions/fashion-mnist/dataset.js';
import { softmaxClassifier } from './fashion-mnist-classifier.js';
import { machineLine, printTable, runBenchmark } from './harness.js';

const DATA = resolve(process.env.DATA ?? SYSTEM_DATA_DIR);
const EPOCHS = Number(process.env.FM_PRECISION_EPOCHS ?? 2);
const TRAIN_IMAGES = Number(process.env.FM_PRECISION_TRAIN ?? 60000);
/** The speed issue's bound on bf16's loss of accuracy. */
const TOLERANCE = 0.005;

async function main(): Promise<void> {
  if (!Number.isInteger(EPOCHS) || EPOCHS < 1)
    throw new UserError(`FM_PRECISION_EPOCHS=${process.env.FM_PRECISION_EPOCHS}: expected a whole number ≥ 1`);
  if (!Number.isInteger(TRAIN_IMAGES) || TRAIN_IMAGES < 1)
    throw new UserError(`FM_PRECISION_TRAIN=${process.env.FM_PRECISION_TRAIN}: expected a whole number ≥ 1`);
  const engine = await initEngine('native');
  const addon = loadNativeAddon().addon;
  applyPrecision('bf16', engine.name, addon);
  applyPrecision('f32', engine.name, addon);
  const app = await Simkit.create();
  const [train, test] = [await readSplit(DATA, 'train'), await readSplit(DATA, 'test')];
  const fit = TRAIN_IMAGES >= train.count ? train : subset(train, [...Array(TRAIN_IMAGES).keys()]);
  process.stdout.write(
    `${machineLine()}\n${fit.count} training images, ${EPOCHS} epoch(s), ${test.count} test images\n`,
  );
  const results = new Map<Precision, { accuracy: number; seconds: number }>();
  for (const precision of ['f32', 'bf16'] as const) {
    applyPrecision(precision, engine.name, addon);
    const bf16Before = addon!.bf16Stats().runs;
    const trained = await softmaxClassifier(app, fit, test, EPOCHS);
    results.set(precision, trained);
    process.stdout.write(
      `${precision}: accuracy ${trained.accuracy.toFixed(4)}, ${trained.seconds.toFixed(0)} s, ` +
        `${addon!.bf16Stats().runs - bf16Before} bf16 kernel calls\n`,
    );
  }
  applyPrecision('f32', engine.name, addon);
  const [f32, bf16] = [results.get('f32')!, results.get('bf16')!];
  const difference = bf16.accuracy - f32.accuracy;
  printTable(
    ['precision', 'test accuracy', 'training s', 'bf16 − f32', `target |Δ| ≤ ${TOLERANCE}`],
    [
      ['f32', f32.accuracy.toFixed(4), f32.seconds.toFixed(0), '', ''],
      [
        'bf16',
        bf16.accuracy.toFixed(4),
        bf16.seconds.toFixed(0),
        `${difference >= 0 ? '+' : ''}${difference.toFixed(4)}`,
        Math.abs(difference) <= TOLERANCE ? 'met' : 'NOT met',
      ],
    ],
  );
}

await runBenchmark(main);
