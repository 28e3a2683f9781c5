import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { UserError } from '../../../core/errors.js';
import { effectiveConfig, prepareRun } from '../../../core/pipeline/prepare.js';
import { runCompetition, type RunSummary } from '../../../core/pipeline/run.js';
import { REPO_ROOT } from '../../repo-root.js';
import { loggedEpochs } from '../../json-files.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'hotels-triplet.yaml');

/** A one-epoch run that validated, scored its sample test set and logged one finite, positive loss. */
function expectOneTrainedEpoch(summary: RunSummary): void {
  expect(summary.validation).toEqual(expect.any(Number));
  expect(summary.test?.score).toEqual(expect.any(Number));
  const log = loggedEpochs(join(summary.runDir, 'image'));
  expect(log).toHaveLength(1);
  expect(log[0]!.loss).toBeGreaterThan(0);
  expect(Number.isFinite(log[0]!.loss)).toBe(true);
}

describe('a miner in the competition config', () => {
  let app: Simkit;
  const root = mkdtempSync(join(tmpdir(), 'simkit-miners-'));
  beforeAll(async () => {
    await initEngine('native');
    app = await Simkit.create();
  });

  it('is listed by the effective config (default none) and taken from a config file', async () => {
    expect((await effectiveConfig(app, { competition: 'hotels' })).models.image!.miner).toEqual({
      name: 'none',
      options: {},
    });
    const config = (await effectiveConfig(app, { competition: 'hotels', config: EXAMPLE })).models.image!;
    expect(config.miner).toEqual({ name: 'semi-hard', options: {} });
    expect(config.loss).toEqual({ name: 'triplet', options: { margin: 0.2, distance: 'l2' } });
    expect(config.head.name).toBe('none');
    expect((await effectiveConfig(app, { competition: 'shopee' })).models.text?.miner).toEqual({
      name: 'none',
      options: {},
    });
  });

  it('docs/training.md worked example: hotels trained with triplet + semi-hard, end to end', async () => {
    const summary = await runCompetition(app, {
      competition: 'hotels',
      config: EXAMPLE,
      out: join(root, 'hotels'),
      epochs: 1,
    });
    expectOneTrainedEpoch(summary);
  });

  it('hotels trained with the multi-similarity loss and the multi-similarity miner, end to end', async () => {
    const file = join(root, 'multi-similarity.json');
    writeFileSync(
      file,
      JSON.stringify({
        models: {
          image: {
            head: { name: 'none' },
            loss: { name: 'multi-similarity' },
            miner: { name: 'multi-similarity', options: { epsilon: 0.1 } },
          },
        },
      }),
    );
    const summary = await runCompetition(app, {
      competition: 'hotels',
      config: file,
      out: join(root, 'hotels-ms'),
      epochs: 1,
    });
    expectOneTrainedEpoch(summary);
  });

  const refused: [string, object, RegExp][] = [
    [
      'a pair miner on the triplet loss',
      { head: { name: 'none' }, loss: { name: 'triplet' }, miner: { name: 'pair-margin' } },
      /triplet miners: .*semi-hard/,
    ],
    [
      'a triplet miner on the contrastive loss',
      { head: { name: 'none' }, loss: { name: 'contrastive' }, miner: { name: 'semi-hard' } },
      /pair miners: hdc, multi-similarity, pair-margin, uniform-histogram/,
    ],
    ['a miner on a head loss', { miner: { name: 'semi-hard' } }, /nothing to select/],
    [
      'an unknown miner',
      { head: { name: 'none' }, loss: { name: 'triplet' }, miner: { name: 'semihard' } },
      /known: .*batch-hard.*semi-hard/,
    ],
    [
      'an unknown miner option',
      { head: { name: 'none' }, loss: { name: 'contrastive' }, miner: { name: 'pair-margin', options: { margin: 1 } } },
      /its options: positiveMargin, negativeMargin/,
    ],
    [
      'an unknown loss option',
      { head: { name: 'none' }, loss: { name: 'triplet', options: { margn: 1 } } },
      /its options: margin/,
    ],
  ];
  it.each(refused)(
    'refuses %s with one line naming the known ones (exit 2), before reading any data',
    async (_, override, hint) => {
      const file = join(root, `${hint.source.length}.json`);
      writeFileSync(file, JSON.stringify({ models: { image: override } }));
      const error = await prepareRun(app, {
        competition: 'hotels',
        config: file,
        data: join(root, 'no-such-directory'),
        out: join(root, 'refused'),
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UserError);
      const user = error as UserError;
      expect(user.exitCode).toBe(2);
      expect(`${user.message} ${user.hint}`).toMatch(hint);
      expect(user.message).not.toMatch(/no-such-directory|\n/);
    },
  );
});
