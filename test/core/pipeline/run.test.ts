import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_SLUG } from '../../../competitions/fashion-mnist/competition.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { Leaderboard } from '../../../core/leaderboard/leaderboard.js';
import { effectiveConfig } from '../../../core/pipeline/prepare.js';
import { IMAGE_MODEL } from '../../../core/pipeline/defaults.js';
import { runCompetition } from '../../../core/pipeline/run.js';
import { formatSummary } from '../../../core/cli/commands/run.js';
import type { Competition } from '../../../core/contracts/competition.js';
import { resolveScoringSpec } from '../../../core/scoring/registration.js';
import { validateSubmissionFile } from '../../../core/scoring/score.js';
import { loggedEpochs } from '../../json-files.js';

// Every registered competition but Fashion-MNIST, whose real-data run test/fashion-mnist covers.
const COMPETITIONS = (await Simkit.create())
  .registry('Competition')
  .names()
  .filter((name) => name !== FASHION_MNIST_SLUG);

describe('simkit run on every embedded sample (small settings)', () => {
  let app: Simkit;
  const root = mkdtempSync(join(tmpdir(), 'simkit-run-'));
  const leaderboard = join(root, 'leaderboard.sqlite');

  beforeAll(async () => {
    await initEngine('native');
    app = await Simkit.create();
  });

  it.each(COMPETITIONS)('%s: sample → train → search → tuned, validated submission → leaderboard', async (name) => {
    const out = join(root, name);
    const summary = await runCompetition(app, { competition: name, out, leaderboard, epochs: 1 });
    const spec = resolveScoringSpec(app, summary.competition);
    expect(existsSync(summary.submission)).toBe(true);
    const header = readFileSync(summary.submission, 'utf8').split('\n')[0];
    expect(header).toBe(spec.header.join(','));
    await validateSubmissionFile(spec, summary.submission);
    expect(summary.validation).toEqual(expect.any(Number));
    expect(summary.test?.score).toEqual(expect.any(Number));
    expect(Object.keys(summary.baselines).length).toBeGreaterThan(0);
    // Kaggle's sample submission is a baseline on validation and on the sample test, printed beside the model.
    const printed = formatSummary(summary);
    expect(printed).toContain("baseline: Kaggle's sample submission");
    expect(printed).toContain("sample test set, baseline: Kaggle's sample submission");
    const competition = app.registry<Competition>('Competition').create(name);
    if (competition.unknownLabel) expect(printed).toContain(`baseline: ${competition.unknownLabel} on every row`);
    if (competition.task === 'classify' && spec.metric.counted !== undefined) {
      // A ranked metric's rows are full: a sixth guess cannot help, a missing fifth gives points away.
      const rows = readFileSync(summary.submission, 'utf8').trim().split('\n').slice(1);
      expect(rows.filter((row) => row.split(',')[1]!.split(' ').length !== spec.metric.counted)).toEqual([]);
    }
    expect(existsSync(join(summary.runDir, 'image', 'model', 'model.json'))).toBe(true);
    if (name === 'shopee') {
      // The title model is trained beside the image model, in its own folder, and its matches are tuned with the rest.
      expect(existsSync(join(summary.runDir, 'text', 'model', 'model.json'))).toBe(true);
      expect(Object.keys(summary.tuned)).toEqual(
        expect.arrayContaining(['tfidf.threshold', 'model-match.threshold', 'combined.threshold']),
      );
      expect(Object.keys(summary.baselines)).toEqual(
        expect.arrayContaining(['without trained models', 'without the image model', 'without the text model']),
      );
    }
    const board = Leaderboard.open(leaderboard);
    try {
      expect(board.list({ competition: summary.competition }).map((r) => r.runId)).toContain(summary.runId);
    } finally {
      board.close();
    }
  });

  it.each([
    [
      'siamese pairs',
      {
        loss: { name: 'siamese-difference', options: {} },
        head: { name: 'none', options: {} },
        sampler: { name: 'balanced-pairs', options: {} },
      },
    ],
    [
      'SimCLR views (labels unused)',
      {
        loss: { name: 'nt-xent', options: {} },
        head: { name: 'none', options: {} },
        sampler: { name: 'none', options: {} },
      },
    ],
  ])('hotels trains on %s through the same pipeline', async (_, objective) => {
    const summary = await runCompetition(app, {
      competition: 'hotels',
      out: join(root, `hotels-${objective.loss.name}`),
      leaderboard,
      overrides: { models: { image: { ...IMAGE_MODEL, epochs: 1, ...objective } } },
    });
    expect(summary.validation).toEqual(expect.any(Number));
    const log = loggedEpochs(join(summary.runDir, 'image'));
    expect(log).toHaveLength(1);
    expect(Number.isFinite(log[0]!.loss)).toBe(true);
  });

  it('shows the effective config and refuses unknown config keys', async () => {
    const config = await effectiveConfig(app, { competition: 'shopee-product-matching' });
    expect(Object.keys(config.models)).toEqual(['image', 'text']);
    expect(config.models.image!.head.name).toBe('arcface');
    expect(config.search).toBe('image');
    expect(config.models.text).toMatchObject({
      input: 'text',
      backbone: { name: 'text-encoder' },
      head: { name: 'arcface' },
      training: { optimizer: 'adam', augment: {} },
    });
    const bad = join(root, 'bad.json');
    (await import('node:fs')).writeFileSync(bad, JSON.stringify({ epochz: 3 }));
    await expect(effectiveConfig(app, { competition: 'shopee', config: bad })).rejects.toThrow(
      /epochz.*unknown config key/,
    );
  });
});
