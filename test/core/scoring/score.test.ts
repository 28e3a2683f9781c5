import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScoringSpec } from '../../../core/contracts/metric.js';
import { Simkit, builtinModules, registrations } from '../../../core/di/container.js';
import { UserError } from '../../../core/errors.js';
import { meanOfRows } from '../../../core/metrics/accumulate.js';
import { parsed } from '../../../core/metrics/tokens.js';
import { resolveScoringSpec, scoringRegistration } from '../../../core/scoring/registration.js';
import { InvalidFileError, scoreFiles, scoreRows, validateSubmissionFile } from '../../../core/scoring/score.js';

const dir = mkdtempSync(join(tmpdir(), 'simkit-score-'));
let fileCount = 0;
function csv(text: string): string {
  const path = join(dir, `f${fileCount++}.csv`);
  writeFileSync(path, text);
  return path;
}

const app = await Simkit.create();
function spec(slug: string): ScoringSpec {
  return resolveScoringSpec(app, slug);
}

const landmarks = spec('landmark-recognition-2021');
const whales = spec('humpback-whale-identification');
const retrieval = spec('landmark-retrieval-2021');
const shopee = spec('shopee-product-matching');

/** The problems of an invalid submission, as `line|column|problem` strings. */
async function problemsOf(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidFileError);
  const invalid = error as InvalidFileError;
  expect(invalid.exitCode).toBe(1);
  return invalid.problems.map((p) => `${p.line ?? '-'}|${p.column ?? '-'}|${p.problem}`);
}

const solution = csv('id,landmarks,Usage\n1,5,Public\n2,2,Private\n3,3,Private\n4,4,Ignored\n5,,Public\n');

describe('scoring files', () => {
  it('reports score over non-Ignored rows, public and private', async () => {
    const submission = csv('id,landmarks\n1,1 0.9\n2,2 0.4\n3,3 0.5\n4,4 0.8\n5,7 0.95\n');
    const report = await scoreFiles(landmarks, solution, submission);
    // Ranked over rows 1,2,3,5: 5 (wrong, .95), 1 (wrong, .9), 3 (right, .5), 2 (right, .4); M = 3.
    expect(report.score).toBeCloseTo((1 / 3 + 2 / 4) / 3, 15);
    expect(report.public).toBe(0);
    expect(report.private).toBe(1);
    expect(report.rows).toBe(4);
    expect(report).toMatchObject({ competition: 'landmark-recognition-2021', metric: 'GAP', higherIsBetter: true });
  });

  it('gives null public and private scores for a solution without Usage', async () => {
    const report = await scoreFiles(
      whales,
      csv('Image,Id\na.jpg,w1\nb.jpg,new_whale\n'),
      csv('Image,Id\nb.jpg,w1 new_whale\na.jpg,w1\n'),
    );
    expect(report).toMatchObject({ score: 0.75, public: null, private: null });
  });

  it('reads BOMs, quoted fields and CRLF, and never casts ids', async () => {
    const sol = csv('\uFEFFposting_id,matches\r\n0123,0123 1e5\r\n1e5,1e5 0123\r\n');
    const report = await scoreFiles(shopee, sol, csv('"posting_id","matches"\n"1e5","1e5 0123"\n0123,0123\n'));
    expect(report.score).toBeCloseTo((1 + 2 / 3) / 2, 15);
    expect(await problemsOf(scoreFiles(shopee, sol, csv('posting_id,matches\n123,123\n100000,100000\n')))).toEqual([
      '2|posting_id|unknown id "123": not in the solution',
      '3|posting_id|unknown id "100000": not in the solution',
      '-|posting_id|id "0123" of the solution is missing',
      '-|posting_id|id "1e5" of the solution is missing',
    ]);
  });
});

describe('validation', () => {
  it('requires the exact header', async () => {
    expect(await problemsOf(scoreFiles(landmarks, solution, csv('landmarks,id\n1,1 0.5\n')))).toEqual([
      '1|-|expected the header id,landmarks, found "landmarks,id"',
    ]);
    expect(await problemsOf(scoreFiles(landmarks, solution, csv('id,landmark\n1,1 0.5\n')))).toEqual([
      '1|-|expected the header id,landmarks, found "id,landmark"',
    ]);
    expect(await problemsOf(scoreFiles(landmarks, solution, csv('')))).toEqual([
      '-|-|the file is empty (expected the header id,landmarks)',
    ]);
  });

  it('names line, column and what was expected for every kind of problem', async () => {
    const submission = csv('id,landmarks\n1,1 x\n1,2 0.4\n9,3 0.5\n2,4 0.1,extra\n,5 0.5\n3,3 0.5 1\n');
    expect(await problemsOf(scoreFiles(landmarks, solution, submission))).toEqual([
      '2|landmarks|expected empty, or "<landmark_id> <confidence>" with a finite confidence, found "1 x"',
      '3|id|id "1" appears again (first on line 2)',
      '4|id|unknown id "9": not in the solution',
      '5|-|expected 2 fields (id,landmarks), found 3',
      '6|id|empty id',
      '7|landmarks|expected empty, or "<landmark_id> <confidence>" with a finite confidence, found "3 0.5 1"',
      '-|id|id "2" of the solution is missing',
      '-|id|id "4" of the solution is missing',
      '-|id|id "5" of the solution is missing',
    ]);
  });

  it('reports the line where a multi-line quoted record ends', async () => {
    const sol = csv('posting_id,matches\na,a\nb,b\n');
    expect(await problemsOf(scoreFiles(shopee, sol, csv('posting_id,matches\n"a","a\nb"\nb,b\nc,c\n')))).toEqual([
      '5|posting_id|unknown id "c": not in the solution',
    ]);
  });

  it('lists the first 10 problems and counts the rest', async () => {
    const rows = Array.from({ length: 15 }, (_, i) => `x${i},1 0.5`).join('\n');
    const error = (await scoreFiles(landmarks, solution, csv(`id,landmarks\n${rows}\n`)).catch(
      (e: unknown) => e,
    )) as InvalidFileError;
    expect(error.problems).toHaveLength(10);
    expect(error.totalProblems).toBe(20);
    expect(error.message).toContain('… and 10 more');
  });

  it('refuses broken CSV', async () => {
    expect(await problemsOf(scoreFiles(landmarks, solution, csv('id,landmarks\n1,"1 0.5\n')))).toEqual([
      expect.stringMatching(/^\d\|-\|not valid CSV: Quote Not Closed/),
    ]);
  });

  it('enforces limits: 50 matches, 100 retrieval images; extra MAP@5 labels are ignored', async () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `i${i}`).join(' ');
    expect(
      await problemsOf(
        scoreRows(
          shopee,
          { columns: ['posting_id', 'matches'], rows: [['a', 'a']] },
          { columns: ['posting_id', 'matches'], rows: [['a', ids(51)]] },
        ),
      ),
    ).toEqual([expect.stringMatching(/^2\|matches\|expected up to 50 space-separated ids, found "i0 i1/)]);
    const retrievalSolution = { columns: ['id', 'images'], rows: [['q', 'i0']] };
    await expect(
      scoreRows(retrieval, retrievalSolution, { columns: ['id', 'images'], rows: [['q', ids(100)]] }),
    ).resolves.toMatchObject({ score: 1 });
    expect(
      await problemsOf(scoreRows(retrieval, retrievalSolution, { columns: ['id', 'images'], rows: [['q', ids(101)]] })),
    ).toHaveLength(1);
    const report = await scoreRows(
      whales,
      { columns: ['Image', 'Id'], rows: [['a', 'w6']] },
      { columns: ['Image', 'Id'], rows: [['a', 'w1 w2 w3 w4 w5 w6']] },
    );
    expect(report.score).toBe(0);
  });

  it('checks the solution too: columns, Usage values, truth tokens, duplicate ids', async () => {
    const submission = csv('id,landmarks\n1,1 0.5\n');
    const bad = csv('id,landmarks,Usage,extra\n1,1,Public,x\n');
    expect(await problemsOf(scoreFiles(landmarks, bad, submission))).toEqual([
      '1|-|expected the columns id,landmarks and optionally Usage, found "id,landmarks,Usage,extra"',
    ]);
    const error = (await scoreFiles(
      whales,
      csv('Image,Id,Usage\na,w1,Secret\na,w2,Public\nb,,Private\n'),
      csv('Image,Id\na,w1\n'),
    ).catch((e: unknown) => e)) as InvalidFileError;
    expect(error.role).toBe('solution');
    expect(error.problems.map((p) => `${p.line}|${p.column}|${p.problem}`)).toEqual([
      '2|Usage|expected one of Public, Private, Ignored, found "Secret"',
      '3|Image|id "a" appears again',
      '4|Id|expected one or more space-separated labels, found ""',
    ]);
  });

  it('validates a submission without a solution, optionally against expected ids', async () => {
    const path = csv('Image,Id\na,w1 w2\nb,w3\n');
    await expect(validateSubmissionFile(whales, path)).resolves.toBe(2);
    expect(await problemsOf(validateSubmissionFile(whales, path, ['a', 'c']))).toEqual([
      '3|Image|unknown id "b": not in the solution',
      '-|Image|id "c" of the solution is missing',
    ]);
  });

  it('scores in-memory tables with the same rules and numbering as files', async () => {
    const columns = ['Image', 'Id'];
    const report = await scoreRows(
      whales,
      {
        columns: [...columns, 'Usage'],
        rows: [
          ['a', 'w1', 'Public'],
          ['b', 'w2', 'Private'],
        ],
      },
      {
        columns,
        rows: [
          ['b', 'x w2'],
          ['a', 'w1'],
        ],
      },
    );
    expect(report).toMatchObject({ score: 0.75, public: 1, private: 0.5 });
    expect(
      await problemsOf(
        scoreRows(
          whales,
          { columns, rows: [['a', 'w1']] },
          {
            columns,
            rows: [
              ['a', 'w1'],
              ['a', 'w1'],
            ],
          },
        ),
      ),
    ).toEqual(['3|Image|id "a" appears again (first on line 2)']);
  });
});

describe('scoring specs in the container', () => {
  it("registers every slug a competition serves, its header derived from the adapter's submission format", async () => {
    const competitions = (await builtinModules()).filter((s) => s.origin.module.startsWith('competitions/'));
    const app = await Simkit.create({ sources: competitions });
    // Kaggle's submission headers, as each competition's page gives them.
    const headers: Record<string, [string, string, string]> = {
      'shopee-product-matching': ['posting_id', 'matches', 'mean F1'],
      'landmark-recognition-challenge': ['id', 'landmarks', 'GAP'],
      'landmark-recognition-2019': ['id', 'landmarks', 'GAP'],
      'landmark-recognition-2020': ['id', 'landmarks', 'GAP'],
      'landmark-recognition-2021': ['id', 'landmarks', 'GAP'],
      'landmark-retrieval-challenge': ['id', 'images', 'mAP@100'],
      'landmark-retrieval-2019': ['id', 'images', 'mAP@100'],
      'landmark-retrieval-2020': ['id', 'images', 'mAP@100'],
      'landmark-retrieval-2021': ['id', 'images', 'mAP@100'],
      'hotel-id-2021-fgvc8': ['image', 'hotel_id', 'MAP@5'],
      'hotel-id-2022-fgvc9': ['image', 'hotel_id', 'MAP@5'],
      'herbarium-2019-fgvc6': ['Id', 'Category', 'top-1 error'],
      'herbarium-2020-fgvc7': ['Id', 'Predicted', 'macro F1'],
      'herbarium-2021-fgvc8': ['Id', 'Predicted', 'macro F1'],
      'herbarium-2022-fgvc9': ['Id', 'Predicted', 'macro F1'],
      'humpback-whale-identification': ['Image', 'Id', 'MAP@5'],
      'human-protein-atlas-image-classification': ['Id', 'Predicted', 'macro F1'],
      'fashion-mnist': ['id', 'label', 'accuracy'],
    };
    expect(app.registry('Metric').names()).toEqual(Object.keys(headers).sort());
    for (const [slug, [id, prediction, metric]] of Object.entries(headers)) {
      const found = resolveScoringSpec(app, slug);
      expect([found.header, found.idColumn, found.predictionColumn, found.metric.name], slug).toEqual([
        [id, prediction],
        id,
        prediction,
        metric,
      ]);
    }
    const aliases = {
      shopee: 'shopee-product-matching',
      landmarks: 'landmark-recognition-2021',
      'landmark-retrieval': 'landmark-retrieval-2021',
      'landmark-recognition-2018': 'landmark-recognition-challenge',
      hotels: 'hotel-id-2021-fgvc8',
      herbarium: 'herbarium-2022-fgvc9',
      whales: 'humpback-whale-identification',
      protein: 'human-protein-atlas-image-classification',
    };
    for (const [alias, slug] of Object.entries(aliases)) expect(resolveScoringSpec(app, alias).competition).toBe(slug);
    expect(resolveScoringSpec(app, 'herbarium-2019-fgvc6').metric.higherIsBetter).toBe(false);
    expect(() => resolveScoringSpec(app, 'nope')).toThrow(UserError);
  });

  it('scores with a metric registered by an external plugin exactly like a built-in one', async () => {
    const lengthError: ScoringSpec<number, number> = {
      competition: 'guess-the-length',
      aliases: ['guess'],
      header: ['item', 'length'],
      idColumn: 'item',
      predictionColumn: 'length',
      metric: {
        name: 'MAE',
        higherIsBetter: false,
        predictionFormat: 'a number',
        parseTruth: (cell) => parsed(Number(cell)),
        parsePrediction: (cell) => (/^\d+$/.test(cell) ? parsed(Number(cell)) : { ok: false, expected: 'a number' }),
        createAccumulator: meanOfRows((truth: number, prediction: number) => Math.abs(truth - prediction)),
      },
    };
    const app = await Simkit.create({
      sources: [],
      extra: [
        {
          origin: { source: '/plugins/guess', module: 'di.config' },
          load: async () => registrations('Metric', [scoringRegistration(lengthError)]),
        },
      ],
    });
    const found = resolveScoringSpec(app, 'guess');
    const report = await scoreFiles(found, csv('item,length\na,3\nb,5\n'), csv('item,length\nb,1\na,3\n'));
    expect(report).toMatchObject({ competition: 'guess-the-length', metric: 'MAE', score: 2, higherIsBetter: false });
  });
});
