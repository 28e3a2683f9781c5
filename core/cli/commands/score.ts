import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { UserError } from '../../errors.js';
import { log } from '../../log.js';
import { Leaderboard, defaultLeaderboardPath } from '../../leaderboard/leaderboard.js';
import { resolveScoringSpec } from '../../scoring/registration.js';
import { scoreFiles } from '../../scoring/score.js';

interface ScoreOptions {
  competition: string;
  solution: string;
  submission: string;
  json?: boolean;
  record?: boolean;
  db?: string;
}

function requireFile(path: string, what: string): void {
  if (!existsSync(path))
    throw new UserError(`${what} ${path} does not exist`, `pass the path of an existing CSV file to --${what}`);
  if (!statSync(path).isFile())
    throw new UserError(`${what} ${path} is not a file`, `pass the path of a CSV file to --${what}`);
}

export function registerScore(program: Command, context: CliContext): void {
  program
    .command('score')
    .description('validate a submission and score it against a Kaggle-style solution file, as Kaggle would')
    .requiredOption('--competition <slug>', 'Kaggle slug or alias (see `simkit list metrics`)')
    .requiredOption(
      '--solution <csv>',
      'solution: the submission columns plus optional Usage (Public, Private, Ignored)',
    )
    .requiredOption('--submission <csv>', 'submission CSV to score')
    .option('--json', 'print one JSON line: competition, metric, score, public, private')
    .option('--record', 'record the result in the local leaderboard')
    .option('--db <path>', 'leaderboard database (default SIMKIT_LEADERBOARD or .simkit/leaderboard.sqlite)')
    .action(async (options: ScoreOptions) => {
      const spec = resolveScoringSpec(await context.simkit(), options.competition);
      requireFile(options.solution, 'solution');
      requireFile(options.submission, 'submission');
      const report = await scoreFiles(spec, options.solution, options.submission);
      if (report.overCounted) {
        const counted = spec.metric.counted!;
        log.warn(
          `${report.overCounted} row(s) of ${options.submission} hold more than ${counted} label(s); ` +
            `${spec.metric.name} counts only the first ${counted} of each row, the rest earn nothing`,
        );
      }
      if (options.json) {
        const { competition, metric, score, public: publicScore, private: privateScore } = report;
        process.stdout.write(
          `${JSON.stringify({ competition, metric, score, public: publicScore, private: privateScore })}\n`,
        );
      } else {
        const value = (score: number | null) => (score === null ? '-' : score.toFixed(6));
        process.stdout.write(
          `${report.competition}: ${report.metric} (${report.higherIsBetter ? 'higher' : 'lower'} is better) over ${report.rows} rows\n` +
            `  score    ${value(report.score)}\n  public   ${value(report.public)}\n  private  ${value(report.private)}\n`,
        );
      }
      if (options.record) {
        const path = options.db ?? defaultLeaderboardPath();
        const leaderboard = Leaderboard.open(path);
        try {
          const record = leaderboard.record({ ...report, submissionPath: options.submission });
          log.info(`recorded run ${record.runId} in ${path}`);
        } finally {
          leaderboard.close();
        }
      }
    });
}
