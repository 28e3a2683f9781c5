// `--resume` with `--folds`: a k-fold run killed while training a fold, then resumed, ends as the run that was never
// interrupted: the finished folds are not retrained, the interrupted one goes on from its last checkpoint.
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { OUT_OF_FOLD_FILE } from '../../../core/pipeline/cross-validate.js';
import { runCompetition, type RunSummary } from '../../../core/pipeline/run.js';
import { loggedEpochs } from '../../json-files.js';

describe('simkit run --folds --resume', () => {
  let app: Simkit;
  const root = mkdtempSync(join(tmpdir(), 'simkit-folds-resume-'));
  const run = (out: string, resume = false): Promise<RunSummary> =>
    runCompetition(app, {
      competition: 'hotels',
      out,
      epochs: 2,
      folds: 2,
      resume,
      overrides: { tune: { 'knn-vote.k': [1, 3] } },
      leaderboard: join(root, 'lb.sqlite'),
    });

  beforeAll(async () => {
    await initEngine('native');
    app = await Simkit.create();
  });

  it('ends equal to the uninterrupted run, without retraining the folds already trained', async () => {
    const straight = await run(join(root, 'straight'));
    const out = join(root, 'resumed');
    cpSync(join(root, 'straight'), out, { recursive: true });
    // What a kill during fold 2's second epoch leaves: its first epoch's checkpoint, no model, no out-of-fold file,
    // no submission.
    const fold = (f: number) => join(out, 'run', `fold-${f}`, 'image');
    const checkpoints = join(fold(2), 'checkpoints');
    rmSync(join(checkpoints, 'epoch-0002'), { recursive: true });
    writeFileSync(
      join(checkpoints, 'latest.json'),
      JSON.stringify({ format: 'simkit-checkpoint/1', checkpoint: 'epoch-0001', epoch: 1 }),
    );
    rmSync(join(fold(2), 'model'), { recursive: true });
    rmSync(join(out, 'run', OUT_OF_FOLD_FILE));
    rmSync(join(out, 'submission.csv'));
    const written = (path: string) => statSync(path).mtimeMs;
    const fold1Last = join(fold(1), 'checkpoints', 'epoch-0002');
    const fold2First = join(checkpoints, 'epoch-0001');
    const before = [written(fold1Last), written(fold2First)];

    const resumed = await run(out, true);
    // Fold 1 was not trained again, and fold 2 went on from its first epoch.
    expect([written(fold1Last), written(fold2First)]).toEqual(before);
    expect(loggedEpochs(fold(2)).map((record) => record.epoch)).toEqual([1, 2]);
    expect(resumed.outOfFold).toEqual(straight.outOfFold);
    expect(resumed.validation).toBe(straight.validation);
    expect(resumed.test?.score).toBe(straight.test?.score);
    expect(readFileSync(join(out, 'run', OUT_OF_FOLD_FILE), 'utf8')).toBe(
      readFileSync(join(root, 'straight', 'run', OUT_OF_FOLD_FILE), 'utf8'),
    );
    expect(readFileSync(join(out, 'submission.csv'), 'utf8')).toBe(
      readFileSync(join(root, 'straight', 'submission.csv'), 'utf8'),
    );
  }, 600_000);
});
