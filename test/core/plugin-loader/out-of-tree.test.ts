import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectWithPackedSimkit } from '../../packed-package.js';
import { REPO_ROOT } from '../../repo-root.js';

/** The adapter of docs/plugins.md's worked example, exactly as the doc shows it. */
function documentedAdapter(): string {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'plugins.md'), 'utf8');
  const match = /<!-- out-of-tree example: index\.js -->\n```js\n([\s\S]*?)```/.exec(doc);
  if (!match) throw new Error('docs/plugins.md has no out-of-tree example block');
  return match[1]!;
}

describe('a competition outside the repository', () => {
  it("docs/plugins.md's adapter as a simkit-plugin-* package: runs end to end, scores, and is on the leaderboard", () => {
    const source = documentedAdapter();
    // Only the public API: `simkit`, `simkit/plugins` and Node's own modules.
    const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(new Set(imports)).toEqual(new Set(['node:path', 'simkit', 'simkit/plugins']));

    const work = mkdtempSync(join(tmpdir(), 'simkit-out-of-tree-'));
    try {
      const project = projectWithPackedSimkit(work);
      const plugin = join(project, 'node_modules', 'simkit-plugin-flukes');
      mkdirSync(plugin);
      const manifest = { name: 'simkit-plugin-flukes', type: 'module', main: 'index.js' };
      writeFileSync(join(plugin, 'package.json'), JSON.stringify(manifest));
      writeFileSync(join(plugin, 'index.js'), source);
      const simkit = (...args: string[]) =>
        spawnSync(process.execPath, [join(project, 'node_modules', 'simkit', 'bin', 'simkit.js'), ...args], {
          cwd: project,
          encoding: 'utf8',
          env: { ...process.env, SIMKIT_LEADERBOARD: join(project, 'lb.sqlite') },
        });

      const listed = simkit('list', 'competitions', '--origin');
      expect(listed.stdout).toMatch(/flukes .*\[simkit-plugin-flukes/);
      expect(listed.stdout).not.toContain('failed to load');

      const run = simkit('run', 'flukes', '--epochs', '2', '--out', 'out');
      expect(run.stderr).not.toMatch(/failed to load|internal error/);
      expect(run.status).toBe(0);
      const summary = run.stdout;
      expect(summary).toContain('flukes-identification: MAP@5 (higher is better)');
      const value = (name: string) => Number(new RegExp(`${name}\\s+([0-9.]+)`).exec(summary)?.[1]);
      // The unknown label is implied (train.csv never names it), yet validation holds items of it:
      // the baseline that answers it everywhere scores above zero, and its threshold was tuned.
      expect(value('baseline: new_individual on every row')).toBeGreaterThan(0);
      expect(summary).toMatch(/tuned: .*unknown-label\.threshold=/);
      expect(summary).toContain("baseline: Kaggle's sample submission");
      expect(summary).toContain('baseline: most frequent class');
      const test = value('sample test set \\(hidden truth\\)');
      expect(test).toBeGreaterThanOrEqual(0);
      expect(summary).toContain("sample test set, baseline: Kaggle's sample submission");

      // Every row holds the five guesses MAP@5 counts.
      const rows = readFileSync(join(project, 'out', 'submission.csv'), 'utf8')
        .trim()
        .split('\n');
      expect(rows[0]).toBe('Image,Id');
      expect(rows.slice(1).filter((row) => row.split(',')[1]!.split(' ').length !== 5)).toEqual([]);

      const scored = simkit(
        'score',
        '--competition',
        'flukes',
        '--solution',
        join('out', 'sample', 'solution.csv'),
        '--submission',
        join('out', 'submission.csv'),
        '--json',
      );
      expect(scored.status).toBe(0);
      const report = JSON.parse(scored.stdout) as { competition: string; metric: string; score: number };
      expect(report).toMatchObject({ competition: 'flukes-identification', metric: 'MAP@5' });
      expect(report.score.toFixed(4)).toBe(test.toFixed(4));

      const board = simkit('leaderboard', '--competition', 'flukes', '--format', 'json');
      expect((JSON.parse(board.stdout) as { score: number }[]).map((r) => r.score.toFixed(4))).toEqual([
        test.toFixed(4),
      ]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 300_000);
});
