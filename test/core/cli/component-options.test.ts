import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeOptions, optionDescriptions } from '../../../core/cli/component-options.js';
import type { CompetitionConfig } from '../../../core/contracts/competition.js';
import { Simkit } from '../../../core/di/container.js';
import { KIND_NAMES } from '../../../core/contracts/component-tokens.js';
import { REPO_ROOT } from '../../repo-root.js';
import { simkitInProcess } from './in-process.js';

describe("components' options", () => {
  it('core/cli/option-docs.json is what the option types say (make option-docs)', () => {
    const check = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'option-docs.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  }, 120_000);

  it('every option of every built-in component has a description', async () => {
    const app = await Simkit.create();
    const undocumented = Object.entries(KIND_NAMES).flatMap(([plural, kind]) =>
      app
        .registry(kind)
        .list()
        .flatMap((entry) =>
          describeOptions(entry)
            .filter((row) => row.description === '')
            .map((row) => `${plural} ${entry.name}.${row.name}`),
        ),
    );
    expect(undocumented).toEqual([]);
  });

  it("a registration's own descriptions come first; one built by a function finds its option type", async () => {
    const app = await Simkit.create();
    expect(optionDescriptions({ ...app.registry('Head').get('arcface'), optionDescriptions: { scale: 's' } })).toEqual({
      scale: 's',
    });
    // subcenter-arcface is made by a function: its options are ArcFaceOptions.
    expect(optionDescriptions(app.registry('Head').get('subcenter-arcface')).centres).toMatch(/Sub-centres per class/);
  });

  it('`simkit list <kind> <name>` prints every option with its default and description', async () => {
    const result = await simkitInProcess(['list', 'postprocessors', 'knn-vote'], { cwd: REPO_ROOT });
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^knn-vote: rank labels .*\[builtin: plugins\/postprocessors\]$/);
    expect(lines[1]).toMatch(/^ {2}option +default +description$/);
    expect(lines.slice(2)).toEqual([
      '  k           10       Neighbours that vote.',
      '  power       3        Each vote weighs max(similarity, 0)^power.',
      "  headWeight  0        Weight of the head's class probability when the state carries one: score·(1−w) + p·w.",
    ]);
    const competition = await simkitInProcess(['list', 'competitions', 'whales'], { cwd: REPO_ROOT });
    expect(competition.stdout).toMatch(/\n {2}models +The run's embedding models by name/);
    // A nested default gets a line of its own.
    expect(competition.stdout).toContain(
      '    = {"image":{"input":"image","imageSize":64,"backbone":{"name":"mobilenet-v2"',
    );
    const unknown = await simkitInProcess(['list', 'losses', 'tripplet'], { cwd: REPO_ROOT });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown loss "tripplet"');
  });

  it("--print-config shows a switched component's every option: its defaults with the config's values", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simkit-print-config-'));
    const config = join(dir, 'triplet.yaml');
    writeFileSync(
      config,
      'models:\n  image:\n    loss: { name: triplet, options: { margin: 0.2 } }\n    head: { name: none }\n',
    );
    const result = await simkitInProcess(['run', 'hotels', '--config', config, '--print-config'], { cwd: dir });
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as CompetitionConfig;
    const triplet = (await Simkit.create()).registry('Loss').get('triplet').defaults;
    expect(printed.models.image!.loss).toEqual({ name: 'triplet', options: { ...triplet, margin: 0.2 } });
    expect(printed.models.image!.head).toEqual({ name: 'none', options: {} });
    expect(printed.postProcessors[0]).toEqual({ name: 'knn-vote', options: { k: 5, power: 3, headWeight: 0 } });
    // What it prints is a config the run accepts as it is.
    writeFileSync(join(dir, 'printed.json'), result.stdout);
    const again = await simkitInProcess(['run', 'hotels', '--config', join(dir, 'printed.json'), '--print-config'], {
      cwd: dir,
    });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual(printed);
  });
});
