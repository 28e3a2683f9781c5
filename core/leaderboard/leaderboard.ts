import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { sha256OfFile } from '../io/checksum.js';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Json } from '../contracts/competition.js';
import { UserError } from '../errors.js';

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

const COLUMNS = [
  'run_id',
  'competition',
  'metric',
  'higher_is_better',
  'recorded_at',
  'git_commit',
  'config',
  'cv',
  'score',
  'public',
  'private',
  'submission_path',
  'submission_sha256',
];

/** A leaderboard file that cannot be used; names it and says what to do (exit 1). */
export class LeaderboardFileError extends UserError {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    const code = (cause as { code?: string })?.code;
    const reason =
      cause instanceof UserError
        ? cause.message
        : code === 'SQLITE_NOTADB'
          ? 'it is not an SQLite database'
          : (cause as Error).message;
    const busy = code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
    super(
      busy
        ? `the leaderboard ${path} is locked: another process has been writing to it for over ${BUSY_TIMEOUT_MS / 1000} s`
        : `the leaderboard ${path} cannot be used: ${reason}`,
      busy
        ? 'the database is healthy: wait for the other process (another simkit run or score --record) and run again'
        : `move it aside (mv '${path}' '${path}.broken') to start a new one, or run \`simkit leaderboard --repair --db ` +
            `'${path}'\` to keep the rows that can still be read`,
      1,
    );
    this.name = 'LeaderboardFileError';
  }
}

/** Opens the database and creates (or checks) the `runs` table. */
function openDatabase(path: string): Database.Database {
  const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.transaction(() => {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION)
        throw new UserError(`its schema version ${version} is newer than this simkit understands (${SCHEMA_VERSION})`);
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
      const columns = (db.pragma('table_info(runs)') as { name: string }[]).map((column) => column.name);
      if (columns.join(',') !== COLUMNS.join(','))
        throw new UserError(`its runs table has the columns ${columns.join(', ')}, not simkit's`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Every row of a damaged leaderboard that can still be read, one at a time (a bad page loses only its rows). */
function salvageRows(path: string): { rows: Row[]; unreadable: number } {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch {
    return { rows: [], unreadable: 0 };
  }
  try {
    let last: number;
    try {
      last = (db.prepare('SELECT max(rowid) AS last FROM runs').get() as { last: number | null }).last ?? 0;
    } catch {
      return { rows: [], unreadable: 0 };
    }
    const select = db.prepare(`SELECT ${COLUMNS.join(', ')} FROM runs WHERE rowid = ?`);
    const rows: Row[] = [];
    let unreadable = 0;
    for (let rowid = 1; rowid <= last; rowid++) {
      try {
        const row = select.get(rowid) as Row | undefined;
        if (row) rows.push(row);
      } catch {
        unreadable += 1;
      }
    }
    return { rows, unreadable };
  } finally {
    db.close();
  }
}

/**
 * The local leaderboard: one SQLite file, safe for several processes writing at once (WAL journal,
 * a busy timeout, and every write in an immediate transaction).
 */
export class Leaderboard {
  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {}

  /**
   * Opens (or creates) the leaderboard at `path`. A file that is not a simkit leaderboard (random
   * bytes, truncated, another program's database, a directory) fails as a LeaderboardFileError
   * naming it and saying how to move it aside or salvage it.
   */
  static open(path = defaultLeaderboardPath()): Leaderboard {
    try {
      mkdirSync(dirname(resolve(path)), { recursive: true });
      if (existsSync(path) && !statSync(path).isFile()) throw new Error('it is not a file');
      return new Leaderboard(openDatabase(path), path);
    } catch (error) {
      throw new LeaderboardFileError(path, error);
    }
  }

  /**
   * Moves a broken leaderboard aside (`<path>.broken-<time>`) and writes a new one holding every
   * row that could still be read from it; returns how many rows were saved and where the old file went.
   */
  static repair(path: string): { salvaged: number; unreadable: number; movedTo: string } {
    if (!existsSync(path) || !statSync(path).isFile())
      throw new UserError(`no leaderboard file at ${path}`, 'pass --db <the leaderboard file>');
    const { rows, unreadable } = salvageRows(path);
    const movedTo = `${path}.broken-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(path, movedTo);
    for (const suffix of ['-wal', '-shm'])
      if (existsSync(`${path}${suffix}`)) renameSync(`${path}${suffix}`, `${movedTo}${suffix}`);
    const leaderboard = Leaderboard.open(path);
    try {
      for (const row of rows) leaderboard.record(fromRow(row));
    } finally {
      leaderboard.close();
    }
    return { salvaged: rows.length, unreadable, movedTo };
  }

  record(entry: LeaderboardEntry): LeaderboardRecord {
    try {
      return this.insert(entry);
    } catch (error) {
      throw new LeaderboardFileError(this.path, error);
    }
  }

  private insert(entry: LeaderboardEntry): LeaderboardRecord {
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
      submissionSha256:
        entry.submissionSha256 !== undefined
          ? entry.submissionSha256
          : submissionPath
            ? sha256OfFile(submissionPath)
            : null,
    };
    const insert = this.db
      .prepare(`INSERT INTO runs VALUES (@run_id, @competition, @metric, @higher_is_better, @recorded_at, @git_commit,
      @config, @cv, @score, @public, @private, @submission_path, @submission_sha256)`);
    this.db.transaction(() => insert.run(toRow(record))).immediate();
    return record;
  }

  /**
   * Records ranked within each competition by `by` (default `score`), best first; records without a value last, newest
   * first.
   */
  list(options: { competition?: string; by?: RankKey } = {}): RankedRecord[] {
    const by = options.by ?? 'score';
    if (!RANK_KEYS.includes(by)) throw new RangeError(`unknown rank key ${by}`);
    let rows: Row[];
    try {
      rows = this.db
        .prepare(
          `SELECT * FROM runs ${options.competition === undefined ? '' : 'WHERE competition = ?'}
          ORDER BY competition, ${by} IS NULL, CASE WHEN higher_is_better THEN -${by} ELSE ${by} END, recorded_at DESC, run_id`,
        )
        .all(...(options.competition === undefined ? [] : [options.competition])) as Row[];
    } catch (error) {
      throw new LeaderboardFileError(this.path, error);
    }
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
    return (
      execFileSync('git', ['rev-parse', 'HEAD'], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'ignore'],
        encoding: 'utf8',
      }).trim() || null
    );
  } catch {
    return null;
  }
}
