import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { sha256OfFile } from '../io/checksum.js';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Json } from '../contracts/competition.js';

/** `.simkit/leaderboard.sqlite` under `cwd`, unless SIMKIT_LEADERBOARD names another file. */
export function defaultLeaderboardPath(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): string {
  return env.SIMKIT_LEADERBOARD ? resolve(cwd, env.SIMKIT_LEADERBOARD) : join(cwd, '.simkit', 'leaderboard.sqlite');
}

/** What a caller records; omitted fields get defaults (new run id, now, the current git commit). */
export interface LeaderboardEntry {
  readonly runId?: string;
  readonly competition: string;
  readonly metric: string;
  readonly higherIsBetter: boolean;
  readonly recordedAt?: string;
  /** Default: `git rev-parse HEAD` in the current directory, null outside a git repository. */
  readonly gitCommit?: string | null;
  readonly config?: Json | null;
  /** Score on a validation split of the training data. */
  readonly cv?: number | null;
  /** Over every non-Ignored row of a solution file. */
  readonly score?: number | null;
  readonly public?: number | null;
  readonly private?: number | null;
  readonly submissionPath?: string | null;
  /** Default: computed from `submissionPath` when that is given. */
  readonly submissionSha256?: string | null;
}

export interface LeaderboardRecord {
  readonly runId: string;
  readonly competition: string;
  readonly metric: string;
  readonly higherIsBetter: boolean;
  readonly recordedAt: string;
  readonly gitCommit: string | null;
  readonly config: Json | null;
  readonly cv: number | null;
  readonly score: number | null;
  readonly public: number | null;
  readonly private: number | null;
  readonly submissionPath: string | null;
  readonly submissionSha256: string | null;
}

export const RANK_KEYS = ['score', 'public', 'private', 'cv'] as const;
export type RankKey = (typeof RANK_KEYS)[number];

/** A record and its place among the records of its competition (null when it has no value for the key). */
export type RankedRecord = LeaderboardRecord & { readonly rank: number | null };

const SCHEMA_VERSION = 1;
const BUSY_TIMEOUT_MS = 30_000;

interface Row {
  run_id: string;
  competition: string;
  metric: string;
  higher_is_better: number;
  recorded_at: string;
  git_commit: string | null;
  config: string | null;
  cv: number | null;
  score: number | null;
  public: number | null;
  private: number | null;
  submission_path: string | null;
  submission_sha256: string | null;
}

/**
 * The local leaderboard: one SQLite file, safe for several processes writing at once (WAL journal,
 * a busy timeout, and every write in an immediate transaction).
 */
export class Leaderboard {
  private constructor(private readonly db: Database.Database) {}

  static open(path = defaultLeaderboardPath()): Leaderboard {
    mkdirSync(dirname(resolve(path)), { recursive: true });
    const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    try {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('journal_mode = WAL');
      db.transaction(() => {
        const version = db.pragma('user_version', { simple: true }) as number;
        if (version > SCHEMA_VERSION) throw new Error(`${path}: leaderboard schema ${version} is newer than this simkit understands (${SCHEMA_VERSION})`);
        db.exec(`CREATE TABLE IF NOT EXISTS runs (
          run_id TEXT PRIMARY KEY,
          competition TEXT NOT NULL,
          metric TEXT NOT NULL,
          higher_is_better INTEGER NOT NULL,
          recorded_at TEXT NOT NULL,
          git_commit TEXT,
          config TEXT,
          cv REAL,
          score REAL,
          public REAL,
          private REAL,
          submission_path TEXT,
          submission_sha256 TEXT
        );
        CREATE INDEX IF NOT EXISTS runs_by_competition ON runs (competition)`);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      }).immediate();
    } catch (error) {
      db.close();
      throw error;
    }
    return new Leaderboard(db);
  }

  record(entry: LeaderboardEntry): LeaderboardRecord {
    const submissionPath = entry.submissionPath ? resolve(entry.submissionPath) : null;
    const record: LeaderboardRecord = {
      runId: entry.runId ?? randomUUID(),
      competition: entry.competition,
      metric: entry.metric,
      higherIsBetter: entry.higherIsBetter,
      recordedAt: entry.recordedAt ?? new Date().toISOString(),
      gitCommit: entry.gitCommit === undefined ? currentGitCommit() : entry.gitCommit,
      config: entry.config ?? null,
      cv: entry.cv ?? null,
      score: entry.score ?? null,
      public: entry.public ?? null,
      private: entry.private ?? null,
      submissionPath,
      submissionSha256: entry.submissionSha256 ?? (submissionPath ? sha256OfFile(submissionPath) : null),
    };
    const insert = this.db.prepare(`INSERT INTO runs VALUES (@run_id, @competition, @metric, @higher_is_better, @recorded_at, @git_commit,
      @config, @cv, @score, @public, @private, @submission_path, @submission_sha256)`);
    this.db.transaction(() => insert.run(toRow(record))).immediate();
    return record;
  }

  /** Records ranked within each competition by `by` (default `score`), best first; records without a value last, newest first. */
  list(options: { competition?: string; by?: RankKey } = {}): RankedRecord[] {
    const by = options.by ?? 'score';
    if (!RANK_KEYS.includes(by)) throw new RangeError(`unknown rank key ${by}`);
    const rows = this.db
      .prepare(`SELECT * FROM runs ${options.competition === undefined ? '' : 'WHERE competition = ?'}
        ORDER BY competition, ${by} IS NULL, CASE WHEN higher_is_better THEN -${by} ELSE ${by} END, recorded_at DESC, run_id`)
      .all(...(options.competition === undefined ? [] : [options.competition])) as Row[];
    const ranked: RankedRecord[] = [];
    let competition = '';
    let rank = 0;
    for (const record of rows.map(fromRow)) {
      if (record.competition !== competition) [competition, rank] = [record.competition, 0];
      ranked.push({ ...record, rank: record[by] === null ? null : ++rank });
    }
    return ranked;
  }

  close(): void {
    this.db.close();
  }
}

function toRow(record: LeaderboardRecord): Row {
  return {
    run_id: record.runId,
    competition: record.competition,
    metric: record.metric,
    higher_is_better: record.higherIsBetter ? 1 : 0,
    recorded_at: record.recordedAt,
    git_commit: record.gitCommit,
    config: record.config === null ? null : JSON.stringify(record.config),
    cv: record.cv,
    score: record.score,
    public: record.public,
    private: record.private,
    submission_path: record.submissionPath,
    submission_sha256: record.submissionSha256,
  };
}

function fromRow(row: Row): LeaderboardRecord {
  return {
    runId: row.run_id,
    competition: row.competition,
    metric: row.metric,
    higherIsBetter: row.higher_is_better === 1,
    recordedAt: row.recorded_at,
    gitCommit: row.git_commit,
    config: row.config === null ? null : (JSON.parse(row.config) as Json),
    cv: row.cv,
    score: row.score,
    public: row.public,
    private: row.private,
    submissionPath: row.submission_path,
    submissionSha256: row.submission_sha256,
  };
}

/** The commit checked out in `dir`, or null outside a git repository (or without git). */
export function currentGitCommit(dir = process.cwd()): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}
