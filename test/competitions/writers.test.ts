import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Item, Prediction } from '../../core/contracts/competition.js';
import { Simkit } from '../../core/di/container.js';
import { resolveScoringSpec } from '../../core/scoring/registration.js';
import { scoreRows, validateSubmissionFile } from '../../core/scoring/score.js';
import { competition, readCsvFile, VARIANTS } from './helpers.js';

// Kaggle's headers and label limits, as each competition's page gives them; a competition not listed
// here is checked against its own submission format.
const EXPECTED: Record<string, { header: string[]; maxLabels: number | null; confidence?: boolean }> = {
  shopee: { header: ['posting_id', 'matches'], maxLabels: 50 },
  landmarks: { header: ['id', 'landmarks'], maxLabels: 1, confidence: true },
  'landmark-retrieval': { header: ['id', 'images'], maxLabels: 100 },
  hotels: { header: ['image', 'hotel_id'], maxLabels: 5 },
  'herbarium-2019-fgvc6': { header: ['Id', 'Category'], maxLabels: 1 },
  'herbarium-2020-fgvc7': { header: ['Id', 'Predicted'], maxLabels: 1 },
  'herbarium-2021-fgvc8': { header: ['Id', 'Predicted'], maxLabels: 1 },
  herbarium: { header: ['Id', 'Predicted'], maxLabels: 1 },
  whales: { header: ['Image', 'Id'], maxLabels: 5 },
  protein: { header: ['Id', 'Predicted'], maxLabels: null },
};

let app: Simkit;
beforeAll(async () => {
  app = await Simkit.create();
});

const item = (id: string, labels: string[]): Item => ({ id, labels, extra: {} });

describe.each(VARIANTS)('%s submission', (variant) => {
  it("writes Kaggle's exact header and cells, capped at the label limit, accepted by the scorer's validator", async () => {
    const adapter = await competition(variant);
    const expected = EXPECTED[variant] ?? {
      header: [adapter.submission.idColumn, adapter.submission.labelColumn],
      maxLabels: adapter.submission.maxLabels,
      confidence: adapter.submission.withConfidence,
    };
    const spec = resolveScoringSpec(app, adapter.metric);
    expect(expected.header).toEqual([...spec.header]);
    // Distinct labels that are valid for every competition (integers within Protein Atlas' 0-27);
    // a Shopee row lists the posting itself first, as Kaggle requires.
    const labels = Array.from({ length: 28 }, (_, i) => String(i));
    const predictions: Prediction[] = ['a1', 'b2', 'c,3'].map((id, row) => ({
      id,
      labels: adapter.task === 'match' ? [id, ...labels] : labels,
      scores: labels.map((_, i) => 0.9 - row * 0.1 - i * 0.01),
    }));
    const dir = mkdtempSync(join(tmpdir(), 'simkit-writer-'));
    const path = join(dir, 'submission.csv');
    writeFileSync(path, 'stale content');
    await adapter.writeSubmission(predictions, path);
    expect(readdirSync(dir)).toEqual(['submission.csv']);
    const { header, rows } = readCsvFile(path);
    expect(header).toEqual(expected.header);
    expect(rows.map((row) => row[0])).toEqual(['a1', 'b2', 'c,3']);
    predictions.forEach((prediction, i) => {
      const cell = rows[i]![1]!;
      if (expected.confidence) {
        expect(cell).toBe(`${prediction.labels[0]} ${prediction.scores![0]!.toFixed(6)}`);
      } else {
        const count =
          expected.maxLabels === null
            ? prediction.labels.length
            : Math.min(expected.maxLabels, prediction.labels.length);
        expect(cell).toBe(prediction.labels.slice(0, count).join(' '));
      }
    });
    await validateSubmissionFile(
      spec,
      path,
      predictions.map((p) => p.id),
    );
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('solution tables', () => {
  it('match: every item of the same label, itself included; a perfect submission scores 1 with the scorer', async () => {
    const shopee = await competition('shopee');
    const truth = [item('a', ['g1']), item('b', ['g1']), item('c', ['g2'])];
    const table = shopee.solutionTable(truth);
    expect(table.columns).toEqual(['posting_id', 'matches', 'Usage']);
    expect(table.rows).toEqual([
      ['a', 'a b', 'Public'],
      ['b', 'a b', 'Public'],
      ['c', 'c', 'Public'],
    ]);
    const perfect = shopee.submissionTable([
      { id: 'a', labels: ['a', 'b'] },
      { id: 'b', labels: ['b', 'a'] },
      { id: 'c', labels: ['c'] },
    ]);
    expect((await scoreRows(resolveScoringSpec(app, shopee.metric), table, perfect)).score).toBe(1);
  });

  it('retrieve: relevant index items per query; queries with none are Ignored', async () => {
    const retrieval = await competition('landmark-retrieval');
    const index = [item('i1', ['x']), item('i2', ['y']), item('i3', ['x'])];
    const table = retrieval.solutionTable([item('q1', ['x']), item('q2', ['z'])], { index, usage: () => 'Private' });
    expect(table.rows).toEqual([
      ['q1', 'i1 i3', 'Private'],
      ['q2', '', 'Ignored'],
    ]);
  });

  it('classify and multilabel: the item labels, space-separated', async () => {
    const protein = await competition('protein');
    expect(protein.solutionTable([item('p', ['3', '17'])]).rows).toEqual([['p', '3 17', 'Public']]);
    const whales = await competition('whales');
    expect(whales.solutionTable([item('x.jpg', ['new_whale'])]).rows).toEqual([['x.jpg', 'new_whale', 'Public']]);
  });

  it('landmarks: an empty prediction is an empty cell', async () => {
    const landmarks = await competition('landmarks');
    expect(landmarks.submissionTable([{ id: 'abc', labels: [] }]).rows).toEqual([['abc', '']]);
  });
});
