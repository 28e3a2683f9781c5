import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Competition, Item } from '../../../core/contracts/competition.js';
import { Simkit } from '../../../core/di/container.js';
import { InputError } from '../../../core/errors.js';
import { findCompetition } from '../../../core/pipeline/prepare.js';
import { resolveScoringSpec } from '../../../core/scoring/registration.js';
import { scoreFiles } from '../../../core/scoring/score.js';
import { readCsvFile } from '../../../test/competitions/helpers.js';
import { RECOGNITION_2018_SLUG } from '../landmark-recognition-challenge.js';

const root = mkdtempSync(join(tmpdir(), 'simkit-glr2018-'));
const sample = join(root, 'sample');
const app = await Simkit.create();
let adapter: Competition;
let train: Item[];
let queries: readonly Item[];

beforeAll(async () => {
  adapter = findCompetition(app, RECOGNITION_2018_SLUG).competition;
  await adapter.generateSample(sample, 3);
  train = await adapter.readTrain(sample);
  queries = (await adapter.readTest(sample)).queries;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The InputError a read fails with. */
async function inputError(read: Promise<unknown>): Promise<InputError> {
  const error: unknown = await read.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

/** A data directory holding one CSV file. */
function dataDir(name: string, file: string, content: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), content);
  return dir;
}

describe('landmark-recognition-challenge (2018) reads id,url tables with images downloaded by id', () => {
  it('train.csv is id,url,landmark_id and every row is an item with its image at train/<id>.jpg', () => {
    const csv = readCsvFile(join(sample, 'train.csv'));
    expect(csv.header).toEqual(['id', 'url', 'landmark_id']);
    expect(train.map((item) => [item.id, item.extra.url, item.labels[0]])).toEqual(csv.rows);
    for (const item of train) expect(item.imagePath).toBe(join(sample, 'train', `${item.id}.jpg`));
  });

  it('test.csv (id,url) gives the test items in its order, each with its image at test/<id>.jpg', () => {
    const csv = readCsvFile(join(sample, 'test.csv'));
    expect(csv.header).toEqual(['id', 'url']);
    expect(queries.map((item) => item.id)).toEqual(csv.rows.map((row) => row[0]));
    expect(queries.every((item) => item.imagePath === join(sample, 'test', `${item.id}.jpg`))).toBe(true);
    expect(queries.every((item) => item.labels.length === 0)).toBe(true);
  });

  it('refuses a table without the url column, or a row without a url, naming file, line and field', async () => {
    let dir = dataDir('no-url-column', 'train.csv', 'id,landmark_id\nabc0123456789def,7\n');
    let error = await inputError(adapter.readTrain(dir));
    expect([error.file, error.line, error.field]).toEqual([join(dir, 'train.csv'), 1, 'url']);
    dir = dataDir('empty-url', 'train.csv', 'id,url,landmark_id\nabc0123456789def,,7\n');
    error = await inputError(adapter.readTrain(dir));
    expect([error.file, error.line, error.field]).toEqual([join(dir, 'train.csv'), 2, 'url']);
  });

  it('lists by id the rows whose image was not downloaded', async () => {
    const gone = [train[4]!, train[17]!, train[30]!];
    for (const item of gone) unlinkSync(item.imagePath!);
    try {
      const error = await inputError(adapter.readTrain(sample));
      expect([error.file, error.field]).toEqual([join(sample, 'train.csv'), 'id']);
      expect(error.message).toContain(`3 of ${train.length} rows have no image at ${join(sample, 'train')}/<id>.jpg`);
      expect(error.message).toContain('download each from its url');
      const listed = error.message.slice(error.message.lastIndexOf(': ') + 2).split(' ');
      expect(listed.sort()).toEqual(gone.map((item) => item.id).sort());
    } finally {
      await adapter.generateSample(sample, 3);
    }
  });

  it('shows the first 20 missing ids and counts the rest', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => `${String(i).padStart(2, '0')}0123456789abcd`);
    const rows = ids.map((id) => `${id},https://example.org/${id}.jpg`).join('\n');
    const dir = dataDir('not-downloaded', 'test.csv', `id,url\n${rows}\n`);
    const error = await inputError(adapter.readTest(dir));
    expect(error.message).toContain(`25 of 25 rows have no image at ${join(dir, 'test')}/<id>.jpg`);
    expect(error.message).toContain(`${ids.slice(0, 20).join(' ')} and 5 more`);
    expect(error.message).not.toContain(ids[20]!);
  });
});

describe('landmark-recognition-challenge: slug, alias and metric', () => {
  it("is Kaggle's slug; landmark-recognition-2018 (simkit's former name) runs and scores as it", () => {
    const { competition, slug } = findCompetition(app, 'landmark-recognition-2018');
    expect([competition.slug, slug]).toEqual([RECOGNITION_2018_SLUG, RECOGNITION_2018_SLUG]);
    expect(resolveScoringSpec(app, 'landmark-recognition-2018').competition).toBe(RECOGNITION_2018_SLUG);
    expect(app.registry('Metric').has('landmark-recognition-2018')).toBe(false);
  });

  it('scores GAP on a hand-computed case', async () => {
    // Ranked by confidence: a (correct: precision 1/1), b (wrong), c (no landmark: wrong), d (correct: 2/4); e
    // predicts nothing. Four images show a landmark: GAP = (1 + 2/4) / 4 = 0.375.
    // Public (a, b): (1/1) / 2 = 0.5. Private (c, d, e): d correct at rank 2 → (1/2) / 2 = 0.25.
    const solution = join(root, 'gap-solution.csv');
    const submission = join(root, 'gap-submission.csv');
    writeFileSync(solution, 'id,landmarks,Usage\na,1,Public\nb,2,Public\nc,,Private\nd,4,Private\ne,5,Private\n');
    writeFileSync(submission, 'id,landmarks\na,1 0.9\nb,3 0.8\nc,5 0.7\nd,4 0.6\ne,\n');
    const report = await scoreFiles(resolveScoringSpec(app, RECOGNITION_2018_SLUG), solution, submission);
    expect([report.score, report.public, report.private]).toEqual([0.375, 0.5, 0.25]);
  });
});
