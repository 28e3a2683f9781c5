import type { Table } from '../contracts/competition.js';
import {
  USAGES,
  type MetricAccumulator,
  type ScoreReport,
  type ScoringSpec,
  type SubmissionProblem,
  type Usage,
} from '../contracts/metric.js';
import { CsvError } from 'csv-parse';
import { UserError } from '../errors.js';
import { splitTokens } from '../metrics/tokens.js';
import { csvFileSource, tableSource, type RowSource } from './sources.js';

/** How many problems an invalid file reports; the rest are only counted. */
export const MAX_REPORTED_PROBLEMS = 10;

/** A submission or solution that cannot be scored; lists its first problems (exit code 1). */
export class InvalidFileError extends UserError {
  constructor(
    readonly file: string,
    readonly role: 'submission' | 'solution',
    readonly problems: readonly SubmissionProblem[],
    readonly totalProblems: number,
    competition: string,
  ) {
    const more = totalProblems > problems.length ? `\n  … and ${totalProblems - problems.length} more` : '';
    super(
      `${file} is not a valid ${role} for ${competition} (${totalProblems} ` +
        `problem${totalProblems === 1 ? '' : 's'}):\n${problems.map((p) => `  ${describeProblem(p)}`).join('\n')}${more}`,
      role === 'submission'
        ? 'correct the submission; nothing was scored'
        : 'correct the solution file; nothing was scored',
      1,
    );
    this.name = 'InvalidFileError';
  }
}

export function describeProblem(problem: SubmissionProblem): string {
  const where = [
    problem.line === undefined ? undefined : `line ${problem.line}`,
    problem.column === undefined ? undefined : `column ${problem.column}`,
  ]
    .filter(Boolean)
    .join(', ');
  return where ? `${where}: ${problem.problem}` : problem.problem;
}

interface PendingProblem {
  /** Record index (0 = header), turned into a line number at the end; absent for whole-file problems. */
  readonly record?: number;
  /** Already known line (CSV syntax errors carry it). */
  readonly line?: number;
  readonly column?: string;
  readonly problem: string;
  /** Record where a repeated id was first given. */
  readonly firstRecord?: number;
}

/** Collects the first problems of one file and turns record indices into line numbers. */
class Problems {
  private readonly first: PendingProblem[] = [];
  total = 0;

  constructor(
    private readonly source: RowSource,
    private readonly role: 'submission' | 'solution',
    private readonly competition: string,
  ) {}

  add(problem: PendingProblem): void {
    this.total += 1;
    if (this.first.length < MAX_REPORTED_PROBLEMS) this.first.push(problem);
  }

  get none(): boolean {
    return this.total === 0;
  }

  async throwIfAny(): Promise<void> {
    if (this.none) return;
    const records = this.first.flatMap((p) => [p.record, p.firstRecord].filter((r): r is number => r !== undefined));
    const lines = await this.source.lines(records);
    const lineOf = (record: number) => lines.get(record) ?? record + 1;
    const problems = this.first.map(({ record, line, column, problem, firstRecord }) => ({
      line: record === undefined ? line : lineOf(record),
      column,
      problem: firstRecord === undefined ? problem : `${problem} (first on line ${lineOf(firstRecord)})`,
    }));
    throw new InvalidFileError(this.source.name, this.role, problems, this.total, this.competition);
  }
}

function quote(cell: string): string {
  return JSON.stringify(cell.length > 60 ? `${cell.slice(0, 57)}...` : cell);
}

/**
 * Iterates a source's records, turning a CSV syntax error into a problem that ends the file;
 * `reading.complete` stays true only when the whole file was read.
 */
async function* batchesOf(
  source: RowSource,
  problems: Problems,
  reading: { complete: boolean },
): AsyncGenerator<readonly (readonly string[])[]> {
  try {
    yield* source.batches();
  } catch (error) {
    // csv-parse's codes do not all start with CSV_ (INVALID_OPENING_QUOTE does not).
    if (!(error instanceof CsvError)) throw error;
    const csvError = error as CsvError & { lines?: number };
    problems.add({ line: csvError.lines, problem: `not valid CSV: ${csvError.message}` });
    reading.complete = false;
  }
}

interface Solution<Truth> {
  /** Each solution id and its row position. */
  readonly ids: Map<string, number>;
  readonly truths: Truth[];
  /** Index into USAGES per row, or -1 when the solution has no Usage column. */
  readonly usages: Int8Array;
}

const NO_USAGE = -1;

async function readSolution<Truth>(spec: ScoringSpec<Truth, unknown>, source: RowSource): Promise<Solution<Truth>> {
  const problems = new Problems(source, 'solution', spec.competition);
  const ids = new Map<string, number>();
  const truths: Truth[] = [];
  const usageList: number[] = [];
  let idAt = -1;
  let truthAt = -1;
  let usageAt = -1;
  let width = 0;
  const reading = { complete: true };
  let record = 0;
  records: for await (const batch of batchesOf(source, problems, reading))
    for (const cells of batch) {
      if (record === 0) {
        const allowed = [...spec.header, 'Usage'];
        const valid =
          spec.header.every((c) => cells.includes(c)) &&
          cells.every((c) => allowed.includes(c)) &&
          new Set(cells).size === cells.length;
        if (!valid) {
          problems.add({
            record,
            problem: `expected the columns ${spec.header.join(',')} and optionally Usage, found ${quote(cells.join(','))}`,
          });
          reading.complete = false;
          break records;
        }
        [idAt, truthAt, usageAt, width] = [
          cells.indexOf(spec.idColumn),
          cells.indexOf(spec.predictionColumn),
          cells.indexOf('Usage'),
          cells.length,
        ];
      } else if (cells.length !== width) {
        problems.add({ record, problem: `expected ${width} fields, found ${cells.length}` });
      } else {
        const id = cells[idAt]!;
        const truth = spec.metric.parseTruth(cells[truthAt]!);
        const usage = usageAt < 0 ? NO_USAGE : USAGES.indexOf(cells[usageAt] as Usage);
        if (id === '') problems.add({ record, column: spec.idColumn, problem: 'empty id' });
        else if (ids.has(id)) problems.add({ record, column: spec.idColumn, problem: `id ${quote(id)} appears again` });
        else ids.set(id, ids.size);
        if (!truth.ok)
          problems.add({
            record,
            column: spec.predictionColumn,
            problem: `expected ${truth.expected}, found ${quote(cells[truthAt]!)}`,
          });
        else truths.push(truth.value);
        if (usageAt >= 0 && usage < 0)
          problems.add({
            record,
            column: 'Usage',
            problem: `expected one of ${USAGES.join(', ')}, found ${quote(cells[usageAt]!)}`,
          });
        usageList.push(usage);
      }
      record += 1;
    }
  if (record === 0 && reading.complete) problems.add({ problem: 'the file is empty (expected a header line)' });
  await problems.throwIfAny();
  return { ids, truths, usages: Int8Array.from(usageList) };
}

/**
 * Checks a submission row by row as Kaggle does (exact header, field count, known ids each exactly
 * once, prediction syntax and limits, no id missing) and hands every valid row to `visit` while no
 * problem has been found. Throws InvalidFileError listing the first problems.
 */
async function readSubmission<Prediction>(
  spec: ScoringSpec<unknown, Prediction>,
  source: RowSource,
  expected: ReadonlyMap<string, number> | undefined,
  visit: (position: number, id: string, prediction: Prediction, cell: string) => void,
): Promise<number> {
  const problems = new Problems(source, 'submission', spec.competition);
  /** Record where each expected id was first given (-1: not yet); other ids are tracked in `seenElsewhere`. */
  const firstRecordAt = new Int32Array(expected?.size ?? 0).fill(-1);
  const seenElsewhere = new Map<string, number>();
  const header = spec.header.join(',');
  const idAt = spec.header.indexOf(spec.idColumn);
  const predictionAt = spec.header.indexOf(spec.predictionColumn);
  let knownSeen = 0;
  const reading = { complete: true };
  let record = 0;
  records: for await (const batch of batchesOf(source, problems, reading))
    for (const cells of batch) {
      if (record === 0) {
        if (cells.length !== spec.header.length || cells.some((column, i) => column !== spec.header[i])) {
          problems.add({ record, problem: `expected the header ${header}, found ${quote(cells.join(','))}` });
          reading.complete = false;
          break records;
        }
      } else if (cells.length !== spec.header.length) {
        problems.add({ record, problem: `expected ${spec.header.length} fields (${header}), found ${cells.length}` });
      } else {
        const id = cells[idAt]!;
        const cell = cells[predictionAt]!;
        const position = expected ? expected.get(id) : seenElsewhere.size;
        const firstRecord =
          expected && position !== undefined ? firstRecordAt[position]! : (seenElsewhere.get(id) ?? -1);
        const prediction = spec.metric.parsePrediction(cell);
        if (id === '') problems.add({ record, column: spec.idColumn, problem: 'empty id' });
        else if (firstRecord >= 0)
          problems.add({ record, column: spec.idColumn, problem: `id ${quote(id)} appears again`, firstRecord });
        else if (position === undefined) {
          seenElsewhere.set(id, record);
          problems.add({ record, column: spec.idColumn, problem: `unknown id ${quote(id)}: not in the solution` });
        } else {
          if (expected) firstRecordAt[position] = record;
          else seenElsewhere.set(id, record);
          knownSeen += 1;
          if (prediction.ok && problems.none) visit(position, id, prediction.value, cell);
        }
        if (!prediction.ok)
          problems.add({
            record,
            column: spec.predictionColumn,
            problem: `expected ${prediction.expected}, found ${quote(cell)}`,
          });
      }
      record += 1;
    }
  if (record === 0 && reading.complete) problems.add({ problem: `the file is empty (expected the header ${header})` });
  if (expected && reading.complete && record > 0 && knownSeen < expected.size) {
    for (const [id, position] of expected) {
      if (firstRecordAt[position] === -1)
        problems.add({ column: spec.idColumn, problem: `id ${quote(id)} of the solution is missing` });
    }
  }
  await problems.throwIfAny();
  return record - 1;
}

/** Validates and scores a submission against a solution; Ignored rows are validated but never scored. */
export async function scoreSubmission<Truth, Prediction>(
  spec: ScoringSpec<Truth, Prediction>,
  solutionSource: RowSource,
  submissionSource: RowSource,
): Promise<ScoreReport> {
  const solution = await readSolution(spec, solutionSource);
  const all = spec.metric.createAccumulator();
  const bySubset = new Map<number, MetricAccumulator<Truth, Prediction>>();
  for (const usage of new Set(solution.usages)) {
    if (usage === USAGES.indexOf('Public') || usage === USAGES.indexOf('Private'))
      bySubset.set(usage, spec.metric.createAccumulator());
  }
  const ignored = USAGES.indexOf('Ignored');
  const counted = spec.metric.counted;
  let rows = 0;
  let overCounted = 0;
  await readSubmission(spec, submissionSource, solution.ids, (position, id, prediction, cell) => {
    if (counted !== undefined && splitTokens(cell).length > counted) overCounted += 1;
    const usage = solution.usages[position]!;
    if (usage === ignored) return;
    const truth = solution.truths[position]!;
    all.add(id, truth, prediction);
    bySubset.get(usage)?.add(id, truth, prediction);
    rows += 1;
  });
  return {
    competition: spec.competition,
    metric: spec.metric.name,
    higherIsBetter: spec.metric.higherIsBetter,
    score: all.result(),
    public: bySubset.get(USAGES.indexOf('Public'))?.result() ?? null,
    private: bySubset.get(USAGES.indexOf('Private'))?.result() ?? null,
    rows,
    ...(counted !== undefined ? { overCounted } : {}),
  };
}

/**
 * Validates a submission without a solution: header, fields, duplicate ids, prediction syntax and
 * limits; with `expectedIds`, also unknown and missing ids. Returns the number of rows.
 */
export async function validateSubmission(
  spec: ScoringSpec<unknown, unknown>,
  source: RowSource,
  expectedIds?: Iterable<string>,
): Promise<number> {
  let expected: Map<string, number> | undefined;
  if (expectedIds) {
    expected = new Map();
    for (const id of expectedIds) if (!expected.has(id)) expected.set(id, expected.size);
  }
  return readSubmission(spec, source, expected, () => {});
}

/** Scores CSV files (Kaggle's solution layout: submission columns plus optional Usage). */
export function scoreFiles(spec: ScoringSpec, solutionPath: string, submissionPath: string): Promise<ScoreReport> {
  return scoreSubmission(spec, csvFileSource(solutionPath), csvFileSource(submissionPath));
}

/** Scores in-memory tables (e.g. a validation fold), with the same checks as files. */
export function scoreRows(spec: ScoringSpec, solution: Table, submission: Table): Promise<ScoreReport> {
  return scoreSubmission(spec, tableSource('solution', solution), tableSource('submission', submission));
}

export function validateSubmissionFile(
  spec: ScoringSpec,
  path: string,
  expectedIds?: Iterable<string>,
): Promise<number> {
  return validateSubmission(spec, csvFileSource(path), expectedIds);
}
