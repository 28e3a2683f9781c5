import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
    expect(formatLeaderboard(records, 'html')).toContain('<td class="meta">r&lt;1&gt;</td>');
    expect(formatLeaderboard(records, 'table').split('\n')[0]).toMatch(/^rank {2}competition {2}metric/);
  });
});

describe('leaderboard --format html', () => {
  it("is a self-contained page: a table per competition with scores, public, private and links to each run's report", () => {
    const dir = mkdtempSync(join(tmpdir(), 'simkit-board-html-'));
    mkdirSync(join(dir, 'a', 'run'), { recursive: true });
    writeFileSync(join(dir, 'a', 'run', 'report.html'), '<html></html>');
    const record = (runId: string, competition: string, submissionPath: string | null, score: number | null) => ({
      ...entry(competition, true, { runId }),
      score,
      recordedAt: '2026-01-01T00:00:00.000Z',
      config: null,
      cv: 0.25,
      public: 0.5,
      private: null,
      submissionPath,
      submissionSha256: null,
      rank: score === null ? null : 1,
    });
    const page = formatLeaderboard(
      [
        record('r1', 'whales', join(dir, 'a', 'submission.csv'), 0.75),
        record('r2', 'whales', join(dir, 'gone', 'submission.csv'), null),
        record('r3', 'hotels', null, 0.125),
      ],
      'html',
    );
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page.trimEnd().endsWith('</html>')).toBe(true);
    // Nothing outside the page: no script, no stylesheet or image to fetch.
    expect(page).not.toMatch(/<script|<link|<img|src=/);
    expect(page.match(/<h2>[^<]*<\/h2>/g)).toEqual(['<h2>whales</h2>', '<h2>hotels</h2>']);
    expect(page).toContain(`<a href="${pathToFileURL(join(dir, 'a', 'run', 'report.html')).href}">report</a>`);
    expect(page.match(/>report<\/a>/g)).toHaveLength(1);
    const firstRow = page.split('\n').find((line) => line.includes('r1'))!;
    expect(firstRow).toContain('<td class="number">0.750000</td><td class="number">0.500000</td>');
    expect(firstRow).toContain('<span class="missing">—</span>');
    expect(formatLeaderboard([], 'html')).toContain('no runs recorded');
  });
});
