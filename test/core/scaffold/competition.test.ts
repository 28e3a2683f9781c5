import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SAMPLE_SOLUTION_FILE, type Competition } from '../../../core/contracts/competition.js';
import { Simkit, builtinModules, fileModule } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { UserError } from '../../../core/errors.js';
import { runCompetition } from '../../../core/pipeline/run.js';
import { scaffoldCompetition } from '../../../core/scaffold/competition.js';
import { REPO_ROOT } from '../../repo-root.js';

/**
 * A project that builds and lints on its own (sources, Makefile, bin/ and the lint configs copied with their times),
 * node_modules linked, no competitions.
 */
function buildableProjectCopy(): string {
  const root = mkdtempSync(join(tmpdir(), 'simkit-build-'));
  for (const name of [
    'core',
    'plugins',
    'bin',
    'scripts',
    'native',
    'Makefile',
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.check.json',
    'eslint.config.mjs',
    '.prettierrc.json',
    '.prettierignore',
  ]) {
    cpSync(join(REPO_ROOT, name), join(root, name), { recursive: true, preserveTimestamps: true });
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  mkdirSync(join(root, 'competitions'));
  return root;
}

/** SHA-256 over the files under `root` (node_modules and `except` left out): paths and bytes. */
function treeHash(root: string, except: string): string {
  const hash = createHash('sha256');
  const files = readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .filter((file) => !file.startsWith('node_modules') && !file.startsWith(except))
    .sort();
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(root, file)))
      .update('\0');
  return hash.digest('hex');
}

/** A project root whose core/ and node_modules/ are the repository's, with its own empty competitions/. */
function projectCopy(): string {
  const root = mkdtempSync(join(tmpdir(), 'simkit-project-'));
  for (const name of ['core', 'node_modules', 'plugins']) symlinkSync(join(REPO_ROOT, name), join(root, name));
  mkdirSync(join(root, 'competitions'));
  return root;
}

describe('adding a competition', () => {
  it('scaffold, `make <slug>`, score and leaderboard, touching nothing but competitions/<slug>/', async () => {
    const root = buildableProjectCopy();
    const before = treeHash(root, 'competitions');
    const files = await scaffoldCompetition({ root, slug: 'toy-shop', task: 'classify', metric: 'map@5' });
    expect(files.every((file) => file.startsWith(join('competitions', 'toy-shop') + sep))).toBe(true);
    expect(treeHash(root, 'competitions')).toBe(before);
    // What it wrote passes the project's lint as written.
    const npx = (...args: string[]) => spawnSync('npx', args, { cwd: root, encoding: 'utf8' });
    const layout = npx('prettier', '--check', 'competitions');
    expect(layout.status, layout.stdout + layout.stderr).toBe(0);
    const lint = npx('eslint', '--max-warnings', '0', 'competitions');
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);

    // The make target is found through the registry; one epoch keeps it short. node_modules is the
    // repository's own (linked), so make must never reinstall it from the copy (-o).
    writeFileSync(join(root, 'quick.json'), JSON.stringify({ models: { image: { epochs: 1 } } }));
    const env = { ...process.env, SIMKIT_LEADERBOARD: join(root, 'lb.sqlite'), SIMKIT_BACKEND: 'wasm' };
    const make = [
      '--no-print-directory',
      '-o',
      'node_modules/.package-lock.json',
      'toy-shop',
      'OUT=out',
      'CONFIG=quick.json',
    ];
    const made = spawnSync('make', make, { cwd: root, env, encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/toy-shop: MAP@5 \(higher is better\)/);

    const simkit = (...args: string[]) =>
      spawnSync(process.execPath, ['bin/simkit.js', ...args], { cwd: root, env, encoding: 'utf8' });
    const scored = simkit(
      'score',
      '--competition',
      'toy-shop',
      '--solution',
      join('out', 'sample', SAMPLE_SOLUTION_FILE),
      '--submission',
      join('out', 'submission.csv'),
      '--json',
    );
    expect(scored.status, scored.stderr).toBe(0);
    const report = JSON.parse(scored.stdout) as { metric: string; score: number };
    expect(report.metric).toBe('MAP@5');
    const board = simkit('leaderboard', '--competition', 'toy-shop', '--format', 'json');
    expect(board.status, board.stderr).toBe(0);
    const runs = JSON.parse(board.stdout) as { competition: string; score: number | null }[];
    expect(runs.map((run) => [run.competition, run.score])).toEqual([['toy-shop', report.score]]);
  }, 600_000);

  it.each(['match', 'recognize', 'retrieve'])('scaffolds a %s competition that runs and validates', async (task) => {
    const root = projectCopy();
    const slug = `toy-${task}`;
    await scaffoldCompetition({ root, slug, task });
    await initEngine('native');
    const app = await Simkit.create({
      sources: [
        ...(await builtinModules()),
        fileModule(join(root, 'competitions', slug, 'di.config.ts'), { source: root, module: slug }),
      ],
    });
    const summary = await runCompetition(app, {
      competition: slug,
      out: join(root, 'out'),
      leaderboard: join(root, 'lb.sqlite'),
      epochs: 1,
    });
    expect(summary.test?.score).toEqual(expect.any(Number));
  });

  it('--kaggle-slug and --unknown-label: run by its alias, recorded under the Kaggle slug, the unknown label tuned', async () => {
    const root = projectCopy();
    await scaffoldCompetition({ root, slug: 'flukes', kaggleSlug: 'flukes-identification', unknownLabel: 'new_one' });
    await initEngine('native');
    const app = await Simkit.create({
      sources: [
        ...(await builtinModules()),
        fileModule(join(root, 'competitions', 'flukes', 'di.config.ts'), { source: root, module: 'flukes' }),
      ],
    });
    const competition = app.registry<Competition>('Competition').create('flukes');
    expect([competition.slug, competition.alias, competition.metric, competition.unknownLabel]).toEqual([
      'flukes-identification',
      'flukes',
      'flukes-identification',
      'new_one',
    ]);
    const summary = await runCompetition(app, {
      competition: 'flukes',
      out: join(root, 'out'),
      leaderboard: join(root, 'lb.sqlite'),
      epochs: 1,
    });
    expect(summary.competition).toBe('flukes-identification');
    expect(Object.keys(summary.tuned)).toContain('unknown-label.threshold');
    // train.csv never names new_one; its validation items are implied by classes seen once.
    const sample = join(root, 'out', 'sample');
    expect(readFileSync(join(sample, 'train.csv'), 'utf8')).not.toContain('new_one');
    expect(readFileSync(join(sample, SAMPLE_SOLUTION_FILE), 'utf8')).toContain('new_one');
    expect(summary.baselines['new_one on every row']).toBeGreaterThan(0);
    expect(summary.baselines["Kaggle's sample submission"]).not.toBeUndefined();
    await expect(scaffoldCompetition({ root, slug: 'other', task: 'match', unknownLabel: 'new_one' })).rejects.toThrow(
      /--unknown-label needs --task classify/,
    );
    await expect(scaffoldCompetition({ root, slug: 'other', kaggleSlug: 'Not A Slug' })).rejects.toThrow(
      /not a valid Kaggle slug/,
    );
  });

  it('refuses invalid names, unsupported tasks, mismatched metrics and existing folders, changing nothing', async () => {
    const root = projectCopy();
    await expect(scaffoldCompetition({ root, slug: 'Bad_Name' })).rejects.toThrow(/not a valid competition name/);
    await expect(scaffoldCompetition({ root, slug: 'x', task: 'segment' })).rejects.toThrow(UserError);
    await expect(scaffoldCompetition({ root, slug: 'x', task: 'match', metric: 'map@5' })).rejects.toThrow(
      /does not score a match task/,
    );
    expect(existsSync(join(root, 'competitions', 'x'))).toBe(false);
    await scaffoldCompetition({ root, slug: 'twice' });
    await expect(scaffoldCompetition({ root, slug: 'twice' })).rejects.toThrow(/already exists/);
  });
});
