/**
 * Forward + backward time of every registered loss (and the margin heads) at batch 256, dimension 512 (ArcFace also
 * with 11,014 classes, Shopee's size), on the chosen backend (default wasm), next to the same losses in PyTorch on one
 * CPU thread (bench/losses_reference.py, where python3-torch is installed).
 */
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Simkit } from '../core/di/container.js';
import { initEngine } from '../core/engine/backend.js';
import { createObjective } from '../core/losses/objective.js';
import type { ObjectiveBatch } from '../core/contracts/loss.js';

const BATCH = 256;
const DIM = 512;
const REPEATS = 5;

/** ms per step of each reference case in PyTorch; undefined where torch is not installed. */
function pytorchMsPerStep(names: string[]): Map<string, number> | undefined {
  const candidates = [
    new URL('./losses_reference.py', import.meta.url),
    new URL('../../bench/losses_reference.py', import.meta.url),
  ].map((u) => fileURLToPath(u));
  const script = candidates.find((path) => existsSync(path));
  if (!script) return undefined;
  const run = spawnSync(process.env.PYTHON ?? '/usr/bin/python3', [script, ...names], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  if (run.status !== 0) return undefined;
  return new Map(
    run.stdout
      .trim()
      .split('\n')
      .map((line) => {
        const [name, ms] = line.split(' ');
        return [name!, Number(ms)];
      }),
  );
}

async function main(): Promise<void> {
  const backend = await initEngine(process.env.SIMKIT_BACKEND ?? 'wasm');
  const app = await Simkit.create();
  const rows: [string, number, number, number | undefined][] = [];
  type Case = { name: string; reference?: string; classes: number; config: Parameters<typeof createObjective>[1] };
  const heads: Case[] = [
    { name: 'arcface + cross-entropy', reference: 'arcface-64', classes: 64, config: { head: 'arcface' } },
    {
      name: 'arcface + cross-entropy (11,014 classes)',
      reference: 'arcface-11014',
      classes: 11_014,
      config: { head: 'arcface' },
    },
    { name: 'cosface + cross-entropy', reference: 'cosface', classes: 64, config: { head: 'cosface' } },
    { name: 'sphereface + cross-entropy', reference: 'sphereface', classes: 64, config: { head: 'sphereface' } },
  ];
  // Every registered loss with its defaults (logit losses on a dense head), then losses with miners.
  const renamed: Record<string, string> = { 'binary-cross-entropy': 'bce', logistic: 'bce' };
  // Named by the objective: a logit loss reads "dense + <loss>".
  const losses: Case[] = app
    .registry('Loss')
    .names()
    .map((loss) => ({ name: '', reference: renamed[loss] ?? loss, classes: 64, config: { loss } }));
  const mined: Case[] = [
    {
      name: 'triplet + semi-hard',
      reference: 'triplet-semi-hard',
      classes: 64,
      config: { loss: 'triplet', miner: 'semi-hard' },
    },
    {
      name: 'triplet + batch-hard',
      reference: 'triplet-batch-hard',
      classes: 64,
      config: { loss: 'triplet', miner: 'batch-hard' },
    },
    {
      name: 'multi-similarity + its miner',
      classes: 64,
      config: { loss: 'multi-similarity', miner: 'multi-similarity' },
    },
  ];
  const cases = [...heads, ...losses, ...mined];
  const reference = pytorchMsPerStep(cases.flatMap((c) => (c.reference ? [c.reference] : [])));
  for (const { name, reference: referenceCase, classes, config } of cases) {
    const objective = createObjective(app, config, { embeddingDim: DIM, numClasses: classes });
    const x = tf.variable(tf.randomNormal([BATCH, DIM], 0, 1, 'float32', 1));
    const labels = tf.tensor1d(
      Array.from({ length: BATCH }, (_, i) => i % classes),
      'int32',
    );
    const batch = (e: tf.Tensor2D): ObjectiveBatch => {
      const unit = e.div(e.square().sum(1, true).sqrt()) as tf.Tensor2D;
      const half = BATCH / 2;
      if (objective.batch === 'labels') return { kind: 'labels', embeddings: unit, labels };
      const a = unit.slice([0, 0], [half, DIM]) as tf.Tensor2D;
      const b = unit.slice([half, 0], [half, DIM]) as tf.Tensor2D;
      return objective.batch === 'views'
        ? { kind: 'views', a, b }
        : { kind: 'pairs', a, b, targets: tf.tensor1d(Array.from({ length: half }, (_, i) => i % 2)) };
    };
    const step = () => {
      const { value, grads } = tf.variableGrads(
        () => objective.loss(batch(x as unknown as tf.Tensor2D)),
        [x, ...objective.variables()],
      );
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const started = performance.now();
    for (let i = 0; i < REPEATS; i++) step();
    const ms = (performance.now() - started) / REPEATS;
    rows.push([name || objective.description, classes, ms, referenceCase ? reference?.get(referenceCase) : undefined]);
    objective.dispose();
    tf.dispose([x, labels]);
  }
  console.log(
    `losses: forward + backward, batch ${BATCH}, dim ${DIM}, backend ${backend.name} (mean of ${REPEATS}); reference: PyTorch CPU, one thread`,
  );
  console.log(
    `${'loss'.padEnd(42)} ${'classes'.padStart(8)} ${'ms/step'.padStart(9)} ${'pytorch'.padStart(9)} ${'ratio'.padStart(7)}`,
  );
  for (const [name, classes, ms, ref] of rows) {
    const refCells =
      ref === undefined
        ? `${'n/a'.padStart(9)} ${''.padStart(7)}`
        : `${ref.toFixed(1).padStart(9)} ${`${(ms / ref).toFixed(1)}×`.padStart(7)}`;
    console.log(`${name.padEnd(42)} ${String(classes).padStart(8)} ${ms.toFixed(1).padStart(9)} ${refCells}`);
  }
  if (!reference)
    console.log('(no PyTorch reference: /usr/bin/python3 with torch, i.e. Debian python3-torch, is not installed)');
}

await main();
