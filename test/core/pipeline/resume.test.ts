// A resumed run is the same run: early stopping keeps the same epoch, --epochs cannot shrink a
// checkpoint, the log has each epoch once, and the tensor count is constant from epoch to epoch.
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { trainTiny } from '../training/tiny-problem.js';
import { loggedEpochs } from '../../json-files.js';

const runDir = () => mkdtempSync(join(tmpdir(), 'simkit-resume-'));
const epochsLogged = (dir: string) => loggedEpochs(dir).map((record) => record.epoch);

/** Validation whose metric is `values[epoch - 1]`; throws at epoch `failAt` (a run killed there). */
function scripted(values: readonly number[], firstEpoch = 1, failAt?: number) {
  let epoch = firstEpoch - 1;
  return async () => {
    epoch += 1;
    if (epoch === failAt) throw new Error('interrupted');
    return { 'MAP@R': values[epoch - 1]! };
  };
}

describe('resuming a run', () => {
  let app: Simkit;
  beforeAll(async () => {
    await initEngine('wasm');
    app = await Simkit.create();
  });

  // Best at epoch 1, then worse: patience 3 stops after epoch 4 and keeps epoch 1.
  const curve = [0.9, 0.5, 0.4, 0.3, 0.2, 0.1];
  const earlyStopping = { patience: 3, metric: 'MAP@R' };

  it('keeps the best epoch after early stopping when the run was interrupted and resumed', async () => {
    const straight = await trainTiny(app, 64, {
      epochs: 6,
      runDir: runDir(),
      earlyStopping,
      validate: scripted(curve),
    });
    expect(straight.result).toMatchObject({ epoch: 1, stoppedEarly: true });

    const dir = runDir();
    await expect(
      trainTiny(app, 64, { epochs: 6, runDir: dir, earlyStopping, validate: scripted(curve, 1, 3) }),
    ).rejects.toThrow('interrupted');
    const resumed = await trainTiny(app, 64, {
      epochs: 6,
      runDir: dir,
      resume: true,
      earlyStopping,
      validate: scripted(curve, 3),
    });
    expect(resumed.result).toMatchObject({ epoch: 1, stoppedEarly: true, resumedFrom: 2 });
    expect(resumed.weights).toEqual(straight.weights);
    expect(resumed.tensorsAfter).toBe(resumed.tensorsBefore);
  });

  it('refuses to resume with fewer epochs than the checkpoint has trained', async () => {
    const dir = runDir();
    await trainTiny(app, 32, { epochs: 3, runDir: dir });
    await expect(trainTiny(app, 32, { epochs: 2, runDir: dir, resume: true })).rejects.toThrow(
      /cannot resume 2 epoch\(s\).*already trained 3/,
    );
  });

  it('logs each epoch once when the run was killed between its log line and its checkpoint', async () => {
    const dir = runDir();
    await expect(trainTiny(app, 32, { epochs: 4, runDir: dir, validate: scripted(curve, 1, 3) })).rejects.toThrow(
      'interrupted',
    );
    // What a kill right after epoch 3's log line leaves: the line, but no epoch-3 checkpoint.
    appendFileSync(join(dir, 'log.jsonl'), `${JSON.stringify({ type: 'epoch', epoch: 3, loss: 1 })}\n`);
    await trainTiny(app, 32, { epochs: 4, runDir: dir, resume: true, validate: scripted(curve, 3) });
    expect(epochsLogged(dir)).toEqual([1, 2, 3, 4]);
  });

  it('holds the same number of tensors after every epoch of a 5-epoch run', async () => {
    const counts: number[] = [];
    const improving = [0.1, 0.2, 0.3, 0.4, 0.5];
    const validate = scripted(improving);
    await trainTiny(app, 64, {
      epochs: 5,
      runDir: runDir(),
      earlyStopping,
      validate: async () => {
        counts.push(tf.memory().numTensors);
        return validate();
      },
    });
    expect(counts).toHaveLength(5);
    // Epoch 1 creates the optimisers' slots and, after its validation, the copy of the best weights;
    // from then on every epoch ends where the one before did.
    expect(counts.slice(1)).toEqual(Array(4).fill(counts[1]));
  });
});
