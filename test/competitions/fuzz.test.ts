// Seeded fuzzing of every competition's readers, every scorer and the submission writer with
// malformed tables. Each case must end in a result or a UserError (the CLI's exit 1 or 2) whose
// message holds no stack trace, never in another error (exit 3), and must leave no partial file.
// SIMKIT_FUZZ_CASES sets the number of cases (1,000 here; `make fuzz` runs more), SIMKIT_FUZZ_SEED the seed.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SAMPLE_SOLUTION_FILE, type Competition, type Prediction } from '../../core/contracts/competition.js';
import type { ScoringSpec } from '../../core/contracts/metric.js';
import { Simkit } from '../../core/di/container.js';
import { isUserError } from '../../core/errors.js';
import { findCompetition } from '../../core/pipeline/prepare.js';
import { checkRunData } from '../../core/pipeline/data-check.js';
import { Random } from '../../core/random.js';
import { scoreFiles } from '../../core/scoring/score.js';
import { VARIANTS } from './helpers.js';
import { STACK_LINE, temporaries } from '../core/cli/in-process.js';
import { awkwardString, malformed, malformedBinary, malformedJson } from './malformed.js';

const CASES = Number(process.env.SIMKIT_FUZZ_CASES ?? 1000);
const SEED = Number(process.env.SIMKIT_FUZZ_SEED ?? 20261201);
const root = mkdtempSync(join(tmpdir(), 'simkit-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Target {
  readonly variant: string;
  readonly competition: Competition;
  readonly dir: string;
  /** The files its readers read, relative to dir, with their original bytes. */
  readonly tables: readonly { readonly path: string; readonly bytes: Buffer }[];
  readonly solution?: Buffer;
}

const READ_TABLES = /\.(csv|json|gz)$/;

function tablesOf(dir: string): { path: string; bytes: Buffer }[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter(
      (path) =>
        READ_TABLES.test(path) && !path.endsWith(SAMPLE_SOLUTION_FILE) && !path.endsWith('sample_submission.csv'),
    )
    .sort()
    .map((path) => ({ path, bytes: readFileSync(join(dir, path)) }));
}

function change(path: string, bytes: Buffer, random: Random): Buffer {
  const kind = extname(path);
  return kind === '.gz'
    ? malformedBinary(bytes, random)
    : kind === '.json'
      ? malformedJson(bytes, random)
      : malformed(bytes, random);
}

/** What a case ended in; a failure describes the case well enough to rerun it. */
async function outcome(what: string, run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    if (!isUserError(error))
      return `${what}: not a UserError (would exit 3): ${(error as Error)?.stack ?? String(error)}`;
    if (STACK_LINE.test(error.message)) return `${what}: the message holds a stack trace: ${error.message}`;
    return undefined;
  }
}

function csvRows(text: string): string[][] {
  return parse(text, { bom: true, relax_column_count: true });
}

describe(`fuzzing readers, scorers and the submission writer (${CASES} cases, seed ${SEED})`, () => {
  let app: Simkit;
  const targets: Target[] = [];
  const specs: { spec: ScoringSpec; target: Target }[] = [];

  beforeAll(async () => {
    app = await Simkit.create();
    process.env.SIMKIT_CACHE = join(root, 'cache');
    for (const variant of [...VARIANTS, 'fashion-mnist']) {
      const { competition } = findCompetition(app, variant);
      const dir = join(root, variant);
      await competition.generateSample(dir, 5);
      const solutionFile = join(dir, SAMPLE_SOLUTION_FILE);
      targets.push({
        variant,
        competition,
        dir,
        tables: tablesOf(dir),
        solution: existsSync(solutionFile) ? readFileSync(solutionFile) : undefined,
      });
    }
    for (const entry of app.registry<ScoringSpec>('Metric').list()) {
      const spec = entry.create();
      // A sample of the same competition, or of another edition with the same submission columns.
      const sameColumns = (t: Target) =>
        t.solution !== undefined &&
        csvRows(t.solution.toString('utf8'))[0]!.slice(0, 2).join(',') === spec.header.join(',');
      const target =
        targets.find((t) => t.competition.metric === spec.competition && t.solution) ?? targets.find(sameColumns);
      if (target) specs.push({ spec, target });
    }
  }, 300_000);

  it('every registered scorer has a sample solution in its columns to start from', () => {
    const scored = new Set(specs.map(({ spec }) => spec.competition));
    expect(
      app
        .registry<ScoringSpec>('Metric')
        .list()
        .map((entry) => entry.name)
        .filter((name) => !scored.has(name)),
    ).toEqual([]);
  });

  it(
    'never fails with anything but a UserError, never leaves a partial file',
    { timeout: Math.max(600_000, CASES * 300) },
    async () => {
      const random = new Random(SEED);
      const failures: string[] = [];
      const counts = { readers: 0, scorers: 0, writers: 0, refused: 0 };
      let captured = '';
      const stderr = vi
        .spyOn(process.stderr, 'write')
        .mockImplementation((chunk: string | Uint8Array) => ((captured += String(chunk)), true));
      try {
        for (let n = 0; n < CASES && failures.length < 5; n++) {
          const pick = random.next();
          const caseRandom = random.fork();
          const label = `case ${n} (seed ${SEED})`;
          if (pick < 0.6) {
            counts.readers += 1;
            const tabled = targets.filter((t) => t.tables.length > 0);
            const target = tabled[caseRandom.int(tabled.length)]!;
            const table = target.tables[caseRandom.int(target.tables.length)]!;
            const file = join(target.dir, table.path);
            writeFileSync(file, change(table.path, table.bytes, caseRandom));
            const failure = await outcome(`${label}: ${target.variant} reading ${table.path}`, async () => {
              const train = await target.competition.readTrain(target.dir);
              const test = await target.competition.readTest(target.dir);
              await checkRunData({
                dataDir: target.dir,
                runDir: join(root, 'run'),
                idColumn: target.competition.submission.idColumn,
                train,
                test,
                maxBadImages: 1,
              });
            });
            writeFileSync(file, table.bytes);
            if (failure)
              failures.push(
                `${failure}\n  bytes: ${JSON.stringify(readFileSync(file).toString('latin1').slice(0, 300))}`,
              );
          } else if (pick < 0.9) {
            counts.scorers += 1;
            const { spec, target } = specs[caseRandom.int(specs.length)]!;
            const dir = mkdtempSync(join(root, 'score-'));
            const solutionRows = csvRows(target.solution!.toString('utf8'));
            const submission = Buffer.from(
              solutionRows
                .map((row, i) => (i === 0 ? spec.header : row.slice(0, spec.header.length)).join(','))
                .join('\n'),
            );
            const breakSolution = caseRandom.next() < 0.2;
            writeFileSync(
              join(dir, 'solution.csv'),
              breakSolution ? malformed(target.solution!, caseRandom) : target.solution!,
            );
            writeFileSync(join(dir, 'submission.csv'), breakSolution ? submission : malformed(submission, caseRandom));
            let refused = false;
            const failure = await outcome(`${label}: scoring ${spec.competition}`, async () => {
              try {
                const report = await scoreFiles(spec, join(dir, 'solution.csv'), join(dir, 'submission.csv'));
                for (const value of [report.score, report.public, report.private])
                  if (value !== null && !Number.isFinite(value)) throw new Error(`score ${value}`);
              } catch (error) {
                refused = true;
                throw error;
              }
            });
            if (refused) counts.refused += 1;
            if (failure) failures.push(failure);
            rmSync(dir, { recursive: true });
          } else {
            counts.writers += 1;
            const target = targets[caseRandom.int(targets.length)]!;
            const dir = mkdtempSync(join(root, 'write-'));
            const predictions: Prediction[] = Array.from({ length: 1 + caseRandom.int(20) }, () => ({
              id: awkwardString(caseRandom),
              labels: Array.from({ length: caseRandom.int(6) }, () => awkwardString(caseRandom)),
              scores: [caseRandom.next()],
            }));
            const path = join(dir, 'submission.csv');
            const failure = await outcome(`${label}: ${target.variant} writing a submission`, () =>
              target.competition.writeSubmission(predictions, path),
            );
            if (failure) failures.push(failure);
            if (existsSync(path)) {
              const written = csvRows(readFileSync(path, 'utf8'));
              const table = target.competition.submissionTable(predictions);
              if (JSON.stringify(written) !== JSON.stringify([table.columns, ...table.rows]))
                failures.push(`${label}: ${target.variant}: the written submission does not read back as written`);
            }
            if (temporaries(dir).length > 0)
              failures.push(`${label}: ${target.variant}: temporary files left: ${temporaries(dir).join(', ')}`);
            rmSync(dir, { recursive: true });
          }
        }
      } finally {
        stderr.mockRestore();
      }
      expect(failures).toEqual([]);
      expect(captured).not.toMatch(STACK_LINE);
      for (const target of targets) expect(temporaries(target.dir), target.variant).toEqual([]);
      // The generator exercises all three kinds, and scoring refuses most malformed files.
      expect(Math.min(counts.readers, counts.scorers, counts.writers)).toBeGreaterThan(CASES / 20);
      expect(counts.refused).toBeGreaterThan(counts.scorers / 4);
      process.stdout.write(
        `fuzz: ${CASES} cases: ${counts.readers} reads, ${counts.scorers} scorings (${counts.refused} refused), ${counts.writers} writes\n`,
      );
    },
  );
});
