import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { resolveScoringSpec } from '../../../core/scoring/registration.js';
import { scoreRows } from '../../../core/scoring/score.js';
import { SAMPLE_SOLUTION_FILE, type Competition } from '../../../core/contracts/competition.js';
import { pixelVectors, readSplit } from '../dataset.js';
import { accuracy, euclideanNeighbours, majorityVote } from '../pixel-knn.js';
import { SAMPLE_SIZES } from '../sample.js';

const dir = mkdtempSync(join(tmpdir(), 'simkit-fmnist-'));
const sampleDir = join(dir, 'sample');
let app: Simkit;
let competition: Competition;

beforeAll(async () => {
  process.env.SIMKIT_CACHE = join(dir, 'cache');
  app = await Simkit.create();
  competition = app.registry<Competition>('Competition').create('fashion-mnist');
  await competition.generateSample(sampleDir, 7);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fashion-mnist competition', () => {
  it('generates the embedded, class-balanced sample with its solution', async () => {
    const train = await readSplit(sampleDir, 'train');
    const test = await readSplit(sampleDir, 'test');
    expect([train.count, test.count]).toEqual([SAMPLE_SIZES.train, SAMPLE_SIZES.test]);
    expect([train.rows, train.cols]).toEqual([28, 28]);
    const perClass = new Array(10).fill(0);
    for (const label of train.labels) perClass[label] += 1;
    expect(perClass).toEqual(new Array(10).fill(SAMPLE_SIZES.train / 10));
    const solution = readFileSync(join(sampleDir, SAMPLE_SOLUTION_FILE), 'utf8').trim().split('\n');
    expect(solution[0]).toBe('id,label,Usage');
    expect(solution).toHaveLength(SAMPLE_SIZES.test + 1);
    expect(solution[1]).toBe(`test-00000,${test.labels[0]},${solution[1]!.split(',')[2]}`);
    expect(new Set(solution.slice(1).map((line) => line.split(',')[2]))).toEqual(new Set(['Public', 'Private']));
  });

  it('reads items with PNGs written once into the cache, pixel for pixel', async () => {
    const items = await competition.readTrain(sampleDir);
    expect(items).toHaveLength(SAMPLE_SIZES.train);
    const train = await readSplit(sampleDir, 'train');
    expect(items[5]!.labels).toEqual([String(train.labels[5])]);
    const { data, info } = await sharp(items[5]!.imagePath)
      .toColourspace('b-w')
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([28, 28, 1]);
    expect([...data]).toEqual([...train.pixels.subarray(5 * 784, 6 * 784)]);
    const cacheDirs = readdirSync(join(dir, 'cache', 'fashion-mnist'));
    expect(cacheDirs.filter((name) => name.includes('.tmp-'))).toEqual([]);
    const again = await competition.readTrain(sampleDir);
    expect(again[5]!.imagePath).toBe(items[5]!.imagePath);
    const test = await competition.readTest(sampleDir);
    expect(test.queries.every((item) => item.labels.length === 0)).toBe(true);
  });

  it('scores a submission with the registered accuracy spec', async () => {
    const spec = resolveScoringSpec(app, competition.metric);
    const truth = [0, 1, 2, 3].map((i) => ({ id: `test-${i}`, labels: [String(i % 2)], extra: {} }));
    const predictions = truth.map((item, i) => ({ id: item.id, labels: [i < 3 ? item.labels[0]! : '9'] }));
    const report = await scoreRows(spec, competition.solutionTable(truth), competition.submissionTable(predictions));
    expect(report.metric).toBe('accuracy');
    expect(report.score).toBe(0.75);
  });
});

describe('raw-pixel kNN through FAISS', () => {
  it('agrees with a brute-force float64 kNN on the sample', async () => {
    const train = await readSplit(sampleDir, 'train');
    const test = await readSplit(sampleDir, 'test');
    const k = 5;
    const rows = euclideanNeighbours(pixelVectors(train), pixelVectors(test), 784, k);
    const predicted = majorityVote(rows, train.labels, k);

    // Brute force: squared distances in float64 from the raw bytes, k smallest, uniform vote (ties: smallest label).
    const distance = (q: number, g: number) => {
      let sum = 0;
      for (let j = 0; j < 784; j++) {
        const d = (test.pixels[q * 784 + j]! - train.pixels[g * 784 + j]!) / 255;
        sum += d * d;
      }
      return sum;
    };
    let agree = 0;
    const reference: number[] = [];
    for (let q = 0; q < test.count; q++) {
      const all = Array.from({ length: train.count }, (_, g) => [distance(q, g), g] as const).sort(
        (a, b) => a[0] - b[0],
      );
      // The nearest neighbour faiss found is at the true smallest distance (float32 rounding aside).
      expect(distance(q, rows[q]!.indices[0]!)).toBeCloseTo(all[0]![0], 3);
      const votes = new Array<number>(10).fill(0);
      for (const [, g] of all.slice(0, k)) votes[train.labels[g]!]! += 1;
      const label = votes.indexOf(Math.max(...votes));
      reference.push(label);
      if (label === predicted[q]) agree += 1;
    }
    expect(agree).toBeGreaterThanOrEqual(test.count - 2);
    expect(Math.abs(accuracy(predicted, test.labels) - accuracy(reference, test.labels))).toBeLessThanOrEqual(
      2 / test.count,
    );
    expect(accuracy(predicted, test.labels)).toBeGreaterThan(0.7);
  });
});
