import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { UserError } from '../../../core/errors.js';
import { Random } from '../../../core/random.js';
import { resolveScoringSpec } from '../../../core/scoring/registration.js';
import { scoreFiles } from '../../../core/scoring/score.js';
import { HOST_KNN, hostKnnIndex } from '../host-knn.js';
import { RETRIEVAL_2020_SLUG } from '../landmark-retrieval-2020.js';

const root = mkdtempSync(join(tmpdir(), 'simkit-glr2020-knn-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function randomVectors(random: Random, count: number, dim: number): Float32Array {
  return Float32Array.from({ length: count * dim }, () => random.uniform(-2, 2));
}

describe("Landmark Retrieval 2020's host search", () => {
  it('ranks every index vector by L2 distance, as a float64 loop does, with negated squared distances', () => {
    const random = new Random(8);
    const dim = 12;
    const gallery = randomVectors(random, 300, dim);
    const queries = randomVectors(random, 7, dim);
    const index = hostKnnIndex(dim);
    index.add(
      Array.from({ length: 300 }, (_, i) => `g${i}`),
      gallery,
    );
    const result = index.search(queries, 100);
    expect([result.k, result.count]).toEqual([100, 7]);
    for (let q = 0; q < 7; q++) {
      const distances = Array.from({ length: 300 }, (_, g) => {
        let sum = 0;
        for (let d = 0; d < dim; d++) sum += (queries[q * dim + d]! - gallery[g * dim + d]!) ** 2;
        return { g, sum };
      }).sort((a, b) => a.sum - b.sum);
      const found = Array.from(result.indices.subarray(q * 100, (q + 1) * 100));
      expect(found).toEqual(distances.slice(0, 100).map((entry) => entry.g));
      for (let r = 0; r < 100; r++) expect(result.similarities[q * 100 + r]!).toBeCloseTo(-distances[r]!.sum, 3);
    }
  });

  it('returns every index vector when there are fewer than k, and refuses what faiss would choke on', () => {
    const index = hostKnnIndex(2);
    expect(() => index.search(new Float32Array([0, 0]), 1)).toThrow('cannot search an empty index');
    index.add(['a', 'b', 'c'], new Float32Array([0, 0, 3, 4, 1, 0]));
    const result = index.search(new Float32Array([0, 0]), 100);
    expect([result.k, Array.from(result.indices), Array.from(result.similarities)]).toEqual([
      3,
      [0, 2, 1],
      [-0, -1, -25],
    ]);
    expect(index.ids).toEqual(['a', 'b', 'c']);
    expect(() => index.add(['d'], new Float32Array([Number.NaN, 0]))).toThrow(UserError);
    expect(() => index.add(['d', 'e'], new Float32Array([1, 0]))).toThrow('2 index ids for 1 vectors');
    expect(() => index.search(new Float32Array([1, 0, 1]), 1)).toThrow('not whole vectors of dimension 2');
    expect(() => index.search(new Float32Array([1, 0]), 0)).toThrow('k must be a positive integer');
  });

  it('is the indexer of the competition, registered by name', async () => {
    const app = await Simkit.create();
    expect(app.registry('Indexer').has(HOST_KNN)).toBe(true);
  });

  it('scores mAP@100 on a hand-computed case', async () => {
    // q1: truth {a, b}, ranked a a b → the repeated a earns nothing but takes rank 2: (1/1 + 2/3) / 2 = 5/6.
    // q2: truth {c, d, e}, ranked x c → (1/2) / 3 = 1/6. q3 predicts nothing: 0.
    // mAP@100 = (5/6 + 1/6 + 0) / 3 = 1/3.
    const solution = join(root, 'solution.csv');
    const submission = join(root, 'submission.csv');
    writeFileSync(solution, 'id,images,Usage\nq1,a b,Public\nq2,c d e,Public\nq3,f,Private\n');
    writeFileSync(submission, 'id,images\nq1,a a b\nq2,x c\nq3,\n');
    const app = await Simkit.create();
    const report = await scoreFiles(resolveScoringSpec(app, RETRIEVAL_2020_SLUG), solution, submission);
    expect(report.score).toBeCloseTo(1 / 3, 15);
    expect(report.public).toBeCloseTo(1 / 2, 15);
    expect(report.private).toBe(0);
  });
});
