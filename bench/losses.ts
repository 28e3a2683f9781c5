/**
 * Forward + backward time of every loss at batch 256, dimension 512 (ArcFace also with 11,014
 * classes, Shopee's size), on the chosen backend (default wasm). Prints a table; no targets.
 */
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { Simkit } from '../core/di/container.js';
import { initEngine } from '../core/engine/backend.js';
import { createObjective } from '../core/losses/objective.js';
import type { ObjectiveBatch } from '../core/contracts/loss.js';

const BATCH = 256;
const DIM = 512;
const REPEATS = 5;

async function main(): Promise<void> {
  const backend = await initEngine(process.env.SIMKIT_BACKEND ?? 'wasm');
  const app = await Simkit.create();
  const rows: [string, number, number][] = [];
  const cases: { name: string; classes: number; config: Parameters<typeof createObjective>[1] }[] = [
    { name: 'arcface + cross-entropy', classes: 64, config: { head: 'arcface' } },
    { name: 'arcface + cross-entropy (11,014 classes)', classes: 11_014, config: { head: 'arcface' } },
    { name: 'cosface + cross-entropy', classes: 64, config: { head: 'cosface' } },
    { name: 'sphereface + cross-entropy', classes: 64, config: { head: 'sphereface' } },
    { name: 'dense + focal', classes: 64, config: { loss: 'focal' } },
    { name: 'dense + binary-cross-entropy', classes: 64, config: { loss: 'binary-cross-entropy' } },
    { name: 'contrastive', classes: 64, config: { loss: 'contrastive' } },
    { name: 'triplet (all)', classes: 64, config: { loss: 'triplet' } },
    { name: 'triplet + semi-hard', classes: 64, config: { loss: 'triplet', miner: 'semi-hard' } },
    { name: 'triplet + batch-hard', classes: 64, config: { loss: 'triplet', miner: 'batch-hard' } },
    { name: 'margin', classes: 64, config: { loss: 'margin' } },
    { name: 'hinge', classes: 64, config: { loss: 'hinge' } },
    { name: 'nt-xent', classes: 64, config: { loss: 'nt-xent' } },
    { name: 'siamese-concat', classes: 64, config: { loss: 'siamese-concat' } },
    { name: 'siamese-difference', classes: 64, config: { loss: 'siamese-difference' } },
    { name: 'siamese-cosine', classes: 64, config: { loss: 'siamese-cosine' } },
  ];
  for (const { name, classes, config } of cases) {
    const objective = createObjective(app, config, { embeddingDim: DIM, numClasses: classes });
    const x = tf.variable(tf.randomNormal([BATCH, DIM], 0, 1, 'float32', 1));
    const labels = tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % classes), 'int32');
    const batch = (e: tf.Tensor2D): ObjectiveBatch => {
      const unit = e.div(e.square().sum(1, true).sqrt()) as tf.Tensor2D;
      const half = BATCH / 2;
      if (objective.batch === 'labels') return { kind: 'labels', embeddings: unit, labels };
      const a = unit.slice([0, 0], [half, DIM]) as tf.Tensor2D;
      const b = unit.slice([half, 0], [half, DIM]) as tf.Tensor2D;
      return objective.batch === 'views' ? { kind: 'views', a, b } : { kind: 'pairs', a, b, targets: tf.tensor1d(Array.from({ length: half }, (_, i) => i % 2)) };
    };
    const step = () => {
      const { value, grads } = tf.variableGrads(() => objective.loss(batch(x as unknown as tf.Tensor2D)), [x, ...objective.variables()]);
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const started = performance.now();
    for (let i = 0; i < REPEATS; i++) step();
    const ms = (performance.now() - started) / REPEATS;
    rows.push([name, classes, ms]);
    objective.dispose();
    tf.dispose([x, labels]);
  }
  console.log(`losses: forward + backward, batch ${BATCH}, dim ${DIM}, backend ${backend.name} (mean of ${REPEATS})`);
  console.log(`${'loss'.padEnd(42)} ${'classes'.padStart(8)} ${'ms/step'.padStart(9)}`);
  for (const [name, classes, ms] of rows) console.log(`${name.padEnd(42)} ${String(classes).padStart(8)} ${ms.toFixed(1).padStart(9)}`);
}

await main();
