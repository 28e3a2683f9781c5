import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectWithPackedSimkit } from '../packed-package.js';

// A consumer of the installed package: trains a tiny MLP + ArcFace model on four separable classes,
// indexes the embeddings with FAISS and searches them; prints what it measured as JSON.
const CONSUMER = `
import * as tf from '@tensorflow/tfjs';
import { Simkit, VectorIndex, createObjective, initEngine, l2Normalize, searchNeighbours, trainEmbedding } from 'simkit';
import { arcface, pk } from 'simkit/plugins';

const backend = await initEngine('cpu');
const app = await Simkit.create();
const features = 8, classes = 4, count = 64;
const data = new Float32Array(count * features);
const labels = new Int32Array(count);
for (let i = 0; i < count; i++) {
  labels[i] = i % classes;
  for (let j = 0; j < features; j++) data[i * features + j] = (j === labels[i] * 2 ? 2 : 0) + (((i * 7 + j * 13) % 10) / 10 - 0.45) * 0.6;
}
const model = app.registry('Backbone').create('mlp', { hidden: [16] })({ height: 1, width: 1, channels: features }, 4, 5);
const objective = createObjective(app, { head: 'arcface', headOptions: { margin: 0.2, scale: 8 } }, { embeddingDim: 4, numClasses: classes });
const result = await trainEmbedding(model, objective, { data, shape: [1, 1, features], labels }, {
  epochs: 8, batchSize: 16, learningRate: 0.01, headLearningRateFactor: 2, warmupEpochs: 1, clipNorm: 5, seed: 9, progress: false,
});
const vectors = tf.tidy(() => l2Normalize(model.predict(tf.tensor4d(data, [count, 1, 1, features]))).dataSync());
const ids = Array.from({ length: count }, (_, i) => String(i));
const index = VectorIndex.create(4);
index.add(ids, new Float32Array(vectors));
const rows = searchNeighbours(index, ids, new Float32Array(vectors), { k: 1, excludeSelf: true });
const precisionAt1 = rows.filter((row, q) => labels[row.indices[0]] === labels[q]).length / count;
console.log(JSON.stringify({
  backend: backend.name,
  losses: result.history.map((epoch) => epoch.loss),
  precisionAt1,
  plugins: [arcface.name, pk.name],
  competitions: app.registry('Competition').names(),
  failures: app.failures.map((f) => f.error.message),
}));
`;

describe('the packed package', () => {
  it('installs from its npm tarball; `simkit` and `simkit/plugins` import, train and search a tiny model', () => {
    const work = mkdtempSync(join(tmpdir(), 'simkit-pack-'));
    try {
      installAndRun(work);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 180_000);
});

function installAndRun(work: string): void {
  const project = projectWithPackedSimkit(work);
  const modules = join(project, 'node_modules');
  writeFileSync(join(project, 'consumer.mjs'), CONSUMER);

  expect(existsSync(join(modules, 'simkit', 'dist', 'core', 'index.js'))).toBe(true);
  expect(existsSync(join(modules, 'simkit', 'test'))).toBe(false);
  const output = execFileSync(process.execPath, ['consumer.mjs'], { cwd: project, encoding: 'utf8' });
  const report = JSON.parse(output.trim().split('\n').at(-1)!) as {
    losses: number[];
    precisionAt1: number;
    plugins: string[];
    competitions: string[];
    failures: string[];
  };
  expect(report.failures).toEqual([]);
  expect(report.plugins).toEqual(['arcface', 'pk']);
  expect(report.competitions).toContain('shopee');
  expect(report.losses.at(-1)!).toBeLessThan(report.losses[0]!);
  // Four well-separated classes: a trained embedding puts each item's nearest other item in its class.
  expect(report.precisionAt1).toBeGreaterThanOrEqual(0.9);
}
