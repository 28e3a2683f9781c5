import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Competition, TestSet } from '../../../core/contracts/competition.js';
import { Simkit } from '../../../core/di/container.js';
import { InputError } from '../../../core/errors.js';
import { findCompetition } from '../../../core/pipeline/prepare.js';
import { resolveScoringSpec } from '../../../core/scoring/registration.js';
import { scoreFiles } from '../../../core/scoring/score.js';
import { readCsvFile } from '../../../test/competitions/helpers.js';
import { RETRIEVAL_2018_SLUG } from '../landmark-retrieval-challenge.js';

const root = mkdtempSync(join(tmpdir(), 'simkit-glr2018-retrieval-'));
const sample = join(root, 'sample');
const app = await Simkit.create();
let adapter: Competition;
let test: TestSet;

beforeAll(async () => {
  adapter = findCompetition(app, RETRIEVAL_2018_SLUG).competition;
  await adapter.generateSample(sample, 4);
  test = await adapter.readTest(sample);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('landmark-retrieval-challenge (2018) reads index.csv and test.csv as id,url', () => {
  it.each(['index', 'test'] as const)('%s.csv lists every %s item, its image at <set>/<id>.jpg', (set) => {
    const csv = readCsvFile(join(sample, `${set}.csv`));
    expect(csv.header).toEqual(['id', 'url']);
    const items = set === 'index' ? test.index! : test.queries;
    expect(items.map((item) => [item.id, item.extra.url])).toEqual(csv.rows);
    expect(items.every((item) => item.imagePath === join(sample, set, `${item.id}.jpg`))).toBe(true);
  });

  it('train.csv is the recognition train set as id,url,landmark_id', async () => {
    const train = await adapter.readTrain(sample);
    expect(readCsvFile(join(sample, 'train.csv')).header).toEqual(['id', 'url', 'landmark_id']);
    expect(
      train.every((item) => item.labels.length === 1 && item.imagePath === join(sample, 'train', `${item.id}.jpg`)),
    ).toBe(true);
  });

  it('lists by id the index rows whose image was not downloaded', async () => {
    const gone = [test.index![2]!, test.index![40]!];
    for (const item of gone) unlinkSync(item.imagePath!);
    try {
      const error = await adapter.readTest(sample).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(InputError);
      const { file, field, message } = error as InputError;
      expect([file, field]).toEqual([join(sample, 'index.csv'), 'id']);
      expect(message).toContain(`2 of ${test.index!.length} rows have no image at ${join(sample, 'index')}/<id>.jpg`);
      expect(message.endsWith(`download each from its url: ${gone.map((item) => item.id).join(' ')}`)).toBe(true);
    } finally {
      await adapter.generateSample(sample, 4);
    }
  });

  it('scores mAP@100 on a hand-computed case', async () => {
    // q1: truth {a, b, c}, ranked a x b → (1/1 + 2/3) / 3 = 5/9. q2: truth {d}, ranked x d → (1/2) / 1 = 1/2.
    // q3 has no relevant index image: Ignored. mAP@100 = (5/9 + 1/2) / 2 = 19/36.
    const solution = join(root, 'map-solution.csv');
    const submission = join(root, 'map-submission.csv');
    writeFileSync(solution, 'id,images,Usage\nq1,a b c,Public\nq2,d,Private\nq3,,Ignored\n');
    writeFileSync(submission, 'id,images\nq1,a x b\nq2,x d\nq3,a\n');
    const report = await scoreFiles(resolveScoringSpec(app, RETRIEVAL_2018_SLUG), solution, submission);
    expect(report.score).toBeCloseTo(19 / 36, 15);
    expect(report.public).toBeCloseTo(5 / 9, 15);
    expect(report.private).toBeCloseTo(1 / 2, 15);
    expect(report.rows).toBe(2);
  });
});
