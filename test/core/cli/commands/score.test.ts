import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const TSX = fileURLToPath(import.meta.resolve('tsx'));
const ENTRY = fileURLToPath(new URL('../entry.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'simkit-cli-'));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function simkit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, ENTRY, ...args],
      { cwd: dir, env: { ...process.env, SIMKIT_LEADERBOARD: '', ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

function csv(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

const solution = csv('solution.csv', 'image,hotel_id,Usage\na,1,Public\nb,2,Private\nc,3,Ignored\n');
const good = csv('good.csv', 'image,hotel_id\na,1 2\nb,3 2\nc,3\n');
const bad = csv('bad.csv', 'image,hotel_id\na,1\na,1\n');
const args = (submission: string) => [
  'score',
  '--competition',
  'hotels',
  '--solution',
  solution,
  '--submission',
  submission,
];

describe('simkit score', () => {
  it('--json prints exactly one line with competition, metric, score, public and private', async () => {
    const result = await simkit([...args(good), '--json']);
    expect(result.code).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toEqual({
      competition: 'hotel-id-2021-fgvc8',
      metric: 'MAP@5',
      score: 0.75,
      public: 1,
      private: 0.5,
    });
    expect(existsSync(join(dir, '.simkit'))).toBe(false);
  });

  it('prints a short summary in plain mode', async () => {
    const result = await simkit(args(good));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('hotel-id-2021-fgvc8: MAP@5 (higher is better) over 2 rows');
    expect(result.stdout).toContain('public   1.000000');
  });

  it('warns, without failing, about labels past the five MAP@5 counts', async () => {
    const long = csv('long.csv', 'image,hotel_id\na,9 8 7 6 5 1\nb,2 3\nc,3 4 5 6 7 8 9\n');
    const result = await simkit([...args(long), '--json']);
    expect(result.code).toBe(0);
    // The sixth label of row a (the truth) earns nothing; row b scores 1.
    expect((JSON.parse(result.stdout) as { score: number }).score).toBe(0.5);
    expect(result.stderr).toContain(
      'warning: 2 row(s) of long.csv hold more than 5 label(s); MAP@5 counts only the first 5 of each row, the rest earn nothing',
    );
    expect((await simkit(args(good))).stderr).not.toContain('warning');
  });

  it('refuses an invalid submission with exit code 1 and no score', async () => {
    const result = await simkit([...args(bad), '--json']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('line 3, column image: id "a" appears again (first on line 2)');
    expect(result.stderr).toContain('id "b" of the solution is missing');
  });

  it('exits 2 for an unknown competition or a missing file', async () => {
    expect((await simkit(['score', '--competition', 'nope', '--solution', solution, '--submission', good])).code).toBe(
      2,
    );
    const missing = await simkit(args('missing.csv'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('submission missing.csv does not exist');
  });

  it('--record writes the leaderboard (default path, SIMKIT_LEADERBOARD, --db) and `leaderboard` ranks it', async () => {
    expect((await simkit([...args(good), '--record'])).code).toBe(0);
    expect(existsSync(join(dir, '.simkit', 'leaderboard.sqlite'))).toBe(true);
    expect((await simkit([...args(good), '--record'], { SIMKIT_LEADERBOARD: 'env.sqlite' })).code).toBe(0);
    expect(existsSync(join(dir, 'env.sqlite'))).toBe(true);
    const worse = csv('worse.csv', 'image,hotel_id\na,2 1\nb,3 4\nc,3\n');
    expect((await simkit([...args(worse), '--record', '--db', 'cli.sqlite'])).code).toBe(0);
    expect((await simkit([...args(good), '--record', '--db', 'cli.sqlite'])).code).toBe(0);
    const listed = await simkit(['leaderboard', '--db', 'cli.sqlite', '--competition', 'hotels', '--format', 'json']);
    expect(listed.code).toBe(0);
    const records = JSON.parse(listed.stdout) as { rank: number; score: number; submissionPath: string }[];
    expect(records.map((r) => [r.rank, r.score, r.submissionPath])).toEqual([
      [1, 0.75, join(dir, 'good.csv')],
      [2, 0.25, join(dir, 'worse.csv')],
    ]);
    expect((await simkit(['leaderboard', '--db', 'none.sqlite'])).code).toBe(2);
  });
});
