import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { humpbackWhale } from '../../../competitions/humpback-whale/humpback-whale.js';
import { landmarkRecognition } from '../../../competitions/landmark-recognition/landmark-recognition.js';
import { shopee } from '../../../competitions/shopee/shopee.js';
import { SAMPLE_SOLUTION_FILE, SAMPLE_SUBMISSION_FILE, type Item } from '../../../core/contracts/competition.js';
import { competitionBaselines, predictionOfCell, scoreSampleSubmission } from '../../../core/competition/baselines.js';
import { scoringSpecOf } from '../../../core/competition/module.js';

const item = (id: string): Item => ({ id, labels: [], extra: {} });
const QUERIES = [item('q1'), item('q2')];

function dataDir(sample?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'simkit-baselines-'));
  if (sample !== undefined) writeFileSync(join(dir, SAMPLE_SUBMISSION_FILE), sample);
  return dir;
}

describe("the competition's trivial baselines", () => {
  it("whales: Kaggle's sample submission's answer on every row, and new_whale on every row", async () => {
    const dir = dataDir('Image,Id\na.jpg,new_whale w_1 w_2\nb.jpg,new_whale w_1 w_2\n');
    const baselines = await competitionBaselines(humpbackWhale(), dir, QUERIES);
    expect(baselines.map((b) => [b.name, 'predictions' in b ? b.predictions.map((p) => p.labels) : []])).toEqual([
      [
        "Kaggle's sample submission",
        [
          ['new_whale', 'w_1', 'w_2'],
          ['new_whale', 'w_1', 'w_2'],
        ],
      ],
      ['new_whale on every row', [['new_whale'], ['new_whale']]],
    ]);
  });

  it("a sample answer naming its own row's id stands for each query's own id (Shopee's self match)", async () => {
    const dir = dataDir('posting_id,matches\ntest_1,test_1\ntest_2,test_2\n');
    const [sample, ...rest] = await competitionBaselines(shopee(), dir, QUERIES);
    expect(rest).toEqual([]);
    expect('predictions' in sample! && sample.predictions.map((p) => p.labels)).toEqual([['q1'], ['q2']]);
  });

  it('no sample submission: only the unknown label; an unreadable one is left out with a warning', async () => {
    expect((await competitionBaselines(humpbackWhale(), dataDir(), QUERIES)).map((b) => b.name)).toEqual([
      'new_whale on every row',
    ]);
    expect(await competitionBaselines(shopee(), dataDir('wrong,header\n1,2\n'), QUERIES)).toEqual([]);
  });

  it('cells with a confidence are read as one label and its score', () => {
    expect(predictionOfCell('x', '42 0.5', true)).toEqual({ id: 'x', labels: ['42'], scores: [0.5] });
    expect(predictionOfCell('x', '', true)).toEqual({ id: 'x', labels: [] });
    expect(predictionOfCell('x', 'a b', false)).toEqual({ id: 'x', labels: ['a', 'b'], scores: [1, 1] });
  });

  it('the sample submission is scored against a hidden truth as Kaggle would, or skipped when it does not fit', async () => {
    const competition = landmarkRecognition();
    const spec = scoringSpecOf(competition);
    const dir = dataDir('id,landmarks\na,1 0.9\nb,\n');
    writeFileSync(join(dir, SAMPLE_SOLUTION_FILE), 'id,landmarks,Usage\na,1,Public\nb,2,Private\n');
    const report = await scoreSampleSubmission(spec, dir, join(dir, SAMPLE_SOLUTION_FILE));
    // GAP: one correct prediction at rank 1 over two rows with a landmark.
    expect(report?.score).toBeCloseTo(0.5, 12);
    writeFileSync(join(dir, SAMPLE_SOLUTION_FILE), 'id,landmarks,Usage\nzzz,1,Public\n');
    expect(await scoreSampleSubmission(spec, dir, join(dir, SAMPLE_SOLUTION_FILE))).toBeNull();
    expect(await scoreSampleSubmission(spec, dataDir(), join(dir, SAMPLE_SOLUTION_FILE))).toBeNull();
  });
});
