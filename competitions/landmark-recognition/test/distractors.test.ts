import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SAMPLE_SOLUTION_FILE,
  type Competition,
  type Item,
  type TestSet,
} from '../../../core/contracts/competition.js';
import { Simkit } from '../../../core/di/container.js';
import { exactSearchContext } from '../../../core/search/neighbours.js';
import { initialState, postProcess, type EmbeddedSet } from '../../../core/pipeline/knn.js';
import { resolveScoringSpec } from '../../../core/scoring/registration.js';
import { scoreRows } from '../../../core/scoring/score.js';
import { LANDMARK_CONFIG } from '../landmark-recognition.js';
import { findCompetition } from '../../../core/pipeline/prepare.js';
import type { TaskStrategy } from '../../../core/contracts/task.js';
import { readCsvFile } from '../../../test/competitions/helpers.js';

const SIDE = 16;
const DIM = SIDE * SIDE * 3;

/** A training-free embedding: the 16×16 RGB pixels, centred per image, L2-normalised. */
async function pixels(items: readonly Item[]): Promise<EmbeddedSet> {
  const vectors = new Float32Array(items.length * DIM);
  for (const [i, item] of items.entries()) {
    const raw = await sharp(item.imagePath).resize(SIDE, SIDE).removeAlpha().raw().toBuffer();
    const mean = raw.reduce((sum, v) => sum + v, 0) / raw.length;
    const row = vectors.subarray(i * DIM, (i + 1) * DIM);
    raw.forEach((v, j) => (row[j] = v - mean));
    const norm = Math.hypot(...row) || 1;
    row.forEach((v, j) => (row[j] = v / norm));
  }
  return { items, vectors };
}

describe('landmarks: known non-landmark images (distractors/)', () => {
  const root = mkdtempSync(join(tmpdir(), 'simkit-landmarks-'));
  let app: Simkit;
  let adapter: Competition;
  let train: Item[];
  let test: TestSet;

  beforeAll(async () => {
    app = await Simkit.create();
    adapter = findCompetition(app, 'landmarks').competition;
    await adapter.generateSample(root, 5);
    train = await adapter.readTrain(root);
    test = await adapter.readTest(root);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("the sample has a nested distractors/ tree of unlabelled images, read as the test set's distractors", () => {
    expect(test.distractors).toHaveLength(60);
    for (const item of test.distractors!) {
      expect(item.labels).toEqual([]);
      expect(relative(root, item.imagePath!)).toBe(
        join('distractors', item.id[0]!, item.id[1]!, item.id[2]!, `${item.id}.jpg`),
      );
      expect(existsSync(item.imagePath!)).toBe(true);
    }
    const ids = new Set([...train, ...test.queries].map((item) => item.id));
    expect(test.distractors!.some((item) => ids.has(item.id))).toBe(false);
  });

  it('without the folder there are no distractors', async () => {
    rmSync(join(root, 'distractors'), { recursive: true, force: true });
    expect((await adapter.readTest(root)).distractors).toBeUndefined();
    await adapter.generateSample(root, 5);
  });

  it('the default chain penalises non-landmarks: sample GAP with the penalty ≥ without (raw-pixel embedding)', async () => {
    const spec = resolveScoringSpec(app, adapter.metric);
    const solution = readCsvFile(join(root, SAMPLE_SOLUTION_FILE));
    const queries = await pixels(test.queries);
    const gallery = await pixels(train);
    const distractors = (await pixels(test.distractors!)).vectors;
    const state = initialState(app, LANDMARK_CONFIG.indexer, DIM, queries, gallery, LANDMARK_CONFIG.neighbours, {
      excludeSelf: false,
      distractors,
    });
    const gap = async (weight: number): Promise<number> => {
      const predictions = postProcess(
        app,
        app.registry<TaskStrategy>('Task').create(adapter.task),
        LANDMARK_CONFIG.postProcessors,
        state,
        exactSearchContext(DIM),
        { 'non-target-penalty.weight': weight },
      );
      return (
        await scoreRows(spec, { columns: solution.header, rows: solution.rows }, adapter.submissionTable(predictions))
      ).score!;
    };
    const without = await gap(0);
    const withPenalty = await gap(1);
    console.log(
      `landmarks sample, raw pixels, default knn-vote: GAP without the penalty ${without.toFixed(4)}, with it ${withPenalty.toFixed(4)}`,
    );
    expect(withPenalty).toBeGreaterThanOrEqual(without);
  });
});
