import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { UserError } from '../../../core/errors.js';
import { createObjective } from '../../../core/losses/objective.js';
import { checkObjectives } from '../../../core/pipeline/embedding-model.js';
import { effectiveConfig } from '../../../core/pipeline/prepare.js';
import { catalogueLosses } from './catalogue.js';

// Each loss of the catalogue with an option that is not its default, as a user would write it in a config file.
const OPTIONS: Record<string, Record<string, unknown>> = Object.fromEntries([
  ['supcon', { temperature: 0.2 }],
  ['multi-supcon', { temperature: 0.2 }],
  ['nt-xent-labels', { temperature: 0.1, distance: 'l2' }],
  ['multi-similarity', { alpha: 2, beta: 40, base: 1 }],
  ['circle', { margin: 0.25, gamma: 256 }],
  ['proxy-anchor', { margin: 0.2, alpha: 16 }],
  ['proxy-nca', { softmaxScale: 3 }],
  ['normalized-softmax', { temperature: 0.1 }],
  ['nca', { softmaxScale: 2, reducer: 'sum' }],
  ['lifted-structure', { negativeMargin: 0.8 }],
  ['generalized-lifted-structure', { positiveMargin: 0.1 }],
  ['n-pairs', { regularizer: { name: 'lp', weight: 0.01 } }],
  ['soft-triple', { centres: 4 }],
  ['tuplet-margin', { marginDegrees: 10, scale: 32 }],
  ['fast-ap', { numBins: 20 }],
  ['angular', { alphaDegrees: 45 }],
  ['centroid-triplet', { margin: 0.1, distance: 'l2' }],
  ['instance', { gamma: 32 }],
  ['large-margin-softmax', { margin: 2 }],
] as [string, Record<string, unknown>][]);

const CATALOGUE = (await catalogueLosses()).map((name): [string, Record<string, unknown>] => [name, OPTIONS[name]!]);

describe('the loss catalogue from a competition config (loss: { name, options })', () => {
  let app: Simkit;
  const root = mkdtempSync(join(tmpdir(), 'simkit-catalogue-'));
  beforeAll(async () => {
    await initEngine('cpu');
    app = await Simkit.create();
  });

  it('lists an option for every registered loss the catalogue holds', () => {
    expect(CATALOGUE.filter(([, options]) => options === undefined).map(([name]) => name)).toEqual([]);
  });

  it.each(CATALOGUE)('%s: taken from the config file and built before any data is read', async (name, options) => {
    const file = join(root, `${name}.json`);
    writeFileSync(file, JSON.stringify({ models: { image: { head: { name: 'none' }, loss: { name, options } } } }));
    const config = await effectiveConfig(app, { competition: 'hotels', config: file });
    expect(config.models.image!.loss).toEqual({ name, options });
    expect(() => checkObjectives(app, config)).not.toThrow();
  });

  // The losses whose terms are pairs take a pair miner; the others select their own terms.
  const PAIR_LOSSES = [
    'supcon',
    'multi-supcon',
    'nt-xent-labels',
    'multi-similarity',
    'circle',
    'nca',
    'lifted-structure',
    'generalized-lifted-structure',
    'tuplet-margin',
    'angular',
  ];
  it.each(CATALOGUE)(
    '%s: takes a pair miner if its terms are pairs, and refuses any other miner naming the ones it takes',
    (name) => {
      const build = (miner: string) => createObjective(app, { loss: name, miner }, { embeddingDim: 4, numClasses: 3 });
      if (PAIR_LOSSES.includes(name)) {
        build('pair-margin').dispose();
        expect(() => build('semi-hard')).toThrow(/takes a pair miner/);
      } else {
        expect(() => build('pair-margin')).toThrow(/takes no miner/);
      }
    },
  );

  it.each(CATALOGUE)('%s: an unknown option is one clear error naming the known ones', async (name, options) => {
    const file = join(root, `${name}-typo.json`);
    writeFileSync(
      file,
      JSON.stringify({
        models: { image: { head: { name: 'none' }, loss: { name, options: { ...options, temprature: 1 } } } },
      }),
    );
    // Refused with the config (effectiveConfig checks every component's options), before any work.
    const error = await effectiveConfig(app, { competition: 'hotels', config: file }).then(
      (config) => checkObjectives(app, config),
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toContain(`loss "${name}" has no option "temprature"`);
    for (const known of [...Object.keys(options), 'distance', 'reducer', 'regularizer'])
      expect((error as UserError).message).toMatch(new RegExp(`its options: .*\\b${known}\\b`));
  });
});
