import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatLeaderboard } from '../../../core/leaderboard/format.js';
import { Leaderboard, currentGitCommit, defaultLeaderboardPath } from '../../../core/leaderboard/leaderboard.js';

const dir = mkdtempSync(join(tmpdir(), 'simkit-leaderboard-'));
const TSX = fileURLToPath(import.meta.resolve('tsx'));

function entry(
  competition: string,
  higherIsBetter: boolean,
  values: { score?: number | null; cv?: number | null; runId: string },
) {
  return { competition, metric: higherIsBetter ? 'GAP' : 'top-1 error', higherIsBetter, gitCommit: null, ...values };
}

describe('Leaderboard', () => {
  it('ranks each competition by its own direction, runs without a value last', () => {
    const leaderboard = Leaderboard.open(join(dir, 'rank', 'lb.sqlite'));
    leaderboard.record(entry('g', true, { runId: 'g-low', score: 0.2 }));
    leaderboard.record(entry('g', true, { runId: 'g-none', score: null, cv: 0.9 }));
    leaderboard.record(entry('g', true, { runId: 'g-high', score: 0.7 }));
    leaderboard.record(entry('e', false, { runId: 'e-high', score: 0.4 }));
    leaderboard.record(entry('e', false, { runId: 'e-low', score: 0.1 }));
    expect(leaderboard.list().map((r) => `${r.runId}:${r.rank}`)).toEqual([
      'e-low:1',
      'e-high:2',
      'g-high:1',
      'g-low:2',
      'g-none:null',
    ]);
    expect(leaderboard.list({ competition: 'g', by: 'cv' }).map((r) => `${r.runId}:${r.rank}`)).toEqual([
      'g-none:1',
      'g-high:null',
      'g-low:null',
    ]);
    leaderboard.close();
  });

  it('stores every field, hashing the submission and reading the git commit', () => {
    const submission = join(dir, 'submission.csv');
    writeFileSync(submission, 'id,landmarks\n1,1 0.5\n');
    const leaderboard = Leaderboard.open(join(dir, 'fields.sqlite'));
    const recorded = leaderboard.record({
      competition: 'c',
      metric: 'GAP',
      higherIsBetter: true,
      config: { lr: 0.1, tags: ['a'] },
      cv: 0.5,
      score: 0.25,
      public: 0.3,
      private: 0.2,
      submissionPath: submission,
    });
    expect(recorded.submissionSha256).toBe(createHash('sha256').update('id,landmarks\n1,1 0.5\n').digest('hex'));
    expect(recorded.gitCommit).toBe(currentGitCommit());
    expect(leaderboard.list()[0]).toEqual({ ...recorded, rank: 1 });
    leaderboard.close();
    expect(currentGitCommit(tmpdir())).toBeNull();
  });

  it('defaults to .simkit/leaderboard.sqlite, overridden by SIMKIT_LEADERBOARD', () => {
    expect(defaultLeaderboardPath('/work/x', {})).toBe('/work/x/.simkit/leaderboard.sqlite');
    expect(defaultLeaderboardPath('/work/x', { SIMKIT_LEADERBOARD: 'lb.db' })).toBe('/work/x/lb.db');
  });

  it('keeps every record when several processes write at once', async () => {
    const path = join(dir, 'concurrent.sqlite');
    const writers = 4;
    const perWriter = 40;
    const writer = fileURLToPath(new URL('./leaderboard-writer.ts', import.meta.url));
    await Promise.all(
      Array.from({ length: writers }, (_, w) =>
        promisify(execFile)(process.execPath, ['--import', TSX, writer, path, String(w), String(perWriter)]),
      ),
    );
    const leaderboard = Leaderboard.open(path);
    const records = leaderboard.list();
    leaderboard.close();
    expect(records).toHaveLength(writers * perWriter);
    expect(new Set(records.map((r) => r.runId)).size).toBe(writers * perWriter);
    expect(records[0]!.runId).toBe(`w${writers - 1}-${perWriter - 1}`);
    expect(records.map((r) => r.rank)).toEqual(records.map((_, i) => i + 1));
  });
});

describe('formatLeaderboard', () => {
  const records = [
    {
      ...entry('g', true, { runId: 'r<1>' }),
      score: 0.5,
      recordedAt: '2026-01-01T00:00:00.000Z',
      config: null,
      cv: null,
      public: null,
      private: null,
      submissionPath: 'a|b.csv',
      submissionSha256: null,
      rank: 1,
    },
  ];

  it('renders every format', () => {
    expect(JSON.parse(formatLeaderboard(records, 'json'))).toEqual(records);
    expect(formatLeaderboard(records, 'csv').split('\n')[1]).toBe(
      '1,g,GAP (higher is better),0.5,,,,2026-01-01T00:00:00.000Z,,r<1>,a|b.csv,,',
    );
    expect(formatLeaderboard(records, 'md')).toContain('| 1 | g | GAP (higher is better) | 0.500000 |');
    expect(formatLeaderboard(records, 'md')).toContain('a\\|b.csv');
    expect(formatLeaderboard(records, 'html')).toContain('<td>r&lt;1&gt;</td>');
    expect(formatLeaderboard(records, 'table').split('\n')[0]).toMatch(/^rank {2}competition {2}metric/);
  });
});
