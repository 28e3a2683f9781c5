import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loggedEpochs, readJsonFile } from '../../../json-files.js';

const TSX = fileURLToPath(import.meta.resolve('tsx'));
const ENTRY = fileURLToPath(new URL('../entry.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'simkit-train-cli-'));

function simkit(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, ENTRY, ...args],
      { cwd: dir, env: { ...process.env, SIMKIT_LEADERBOARD: '' } },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

describe('simkit train --config', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'fm');
  writeFileSync(
    join(dir, 'train.yaml'),
    [
      'competition: fashion-mnist',
      `out: ${out}`,
      'seed: 3',
      'models:',
      '  image:',
      '    epochs: 2',
      '    batchSize: 64',
      '    backbone: { name: mlp, options: { hidden: [32] } }',
      '    training:',
      '      optimizer: adamw',
      '      augment: { flip: false }',
    ].join('\n'),
  );

  it(
    'trains, validates, checkpoints and reports; --resume continues from the last epoch',
    { timeout: 240_000 },
    async () => {
      const first = await simkit(['train', '--config', 'train.yaml']);
      expect(first.stderr).toMatch(/epoch 2\/2 .*MAP@R/);
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/trained 2 epoch\(s\)/);
      expect(existsSync(join(out, 'run', 'image', 'model', 'model.json'))).toBe(true);
      expect(readJsonFile<{ epoch: number }>(join(out, 'run', 'image', 'checkpoints', 'latest.json')).epoch).toBe(2);
      expect(existsSync(join(out, 'run', 'report.html'))).toBe(true);
      const used = readJsonFile<{ models: { image: { training: { optimizer: string } } } }>(join(out, 'config.json'));
      expect(used.models.image.training.optimizer).toBe('adamw');

      const resumed = await simkit(['train', '--config', 'train.yaml', '--epochs', '3', '--resume']);
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toMatch(/trained 3 epoch\(s\) \(resumed after epoch 2\)/);
      expect(resumed.stderr).not.toMatch(/epoch 1\/3/);
      const epochs = loggedEpochs(join(out, 'run', 'image')).map((record) => record.epoch);
      expect(epochs).toEqual([1, 2, 3]);
    },
  );

  it('prints the effective config with every training default, and names a mistyped key', async () => {
    const printed = await simkit(['train', 'fashion-mnist', '--print-config']);
    expect(printed.code).toBe(0);
    const config = JSON.parse(printed.stdout) as { models: { image: { training: object } } };
    expect(config.models.image.training).toMatchObject({
      optimizer: 'adam',
      earlyStopping: { patience: 0 },
      keepCheckpoints: 2,
      precision: 'f32',
    });

    writeFileSync(
      join(dir, 'typo.yaml'),
      'competition: fashion-mnist\nmodels:\n  image:\n    training:\n      optimiser: sgd\n',
    );
    const typo = await simkit(['train', '--config', 'typo.yaml']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/typo\.yaml.*models\.image\.training\.optimiser.*unknown config key/);

    const none = await simkit(['train']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no competition given/);
  });
});
