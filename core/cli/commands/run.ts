import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { withComponentDefaults } from '../component-options.js';
import { initEngine } from '../../engine/backend.js';
import { POSITIVE_INTEGER, SEED } from '../../pipeline/config-check.js';
import { DEFAULT_MAX_BAD_IMAGES } from '../../pipeline/data-check.js';
import { effectiveConfig } from '../../pipeline/prepare.js';
import { runCompetition, type RunSummary } from '../../pipeline/run.js';
import { numberFlag, pathFlag } from '../flags.js';

function formatScore(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : value.toFixed(4);
}

export function formatSummary(summary: RunSummary): string {
  const rows: [string, string][] = [
    ['searched', summary.searched],
    ['validation (trained + tuned)', formatScore(summary.validation)],
    ...(summary.pseudoLabels
      ? [
          [
            'validation before pseudo-labels',
            `${formatScore(summary.pseudoLabels.firstValidation)}  ` +
              `(${summary.pseudoLabels.items} test items in ${summary.pseudoLabels.classes} classes joined)`,
          ] as [string, string],
        ]
      : []),
    ...(summary.outOfFold
      ? [
          [
            `out of fold, all ${summary.outOfFold.items} train items (${summary.outOfFold.folds} folds)`,
            `${formatScore(summary.outOfFold.score)}  folds ${summary.outOfFold.perFold.map(formatScore).join(' ')}`,
          ] as [string, string],
        ]
      : []),
    ...Object.entries(summary.baselines).map(([name, score]): [string, string] => [
      `baseline: ${name}`,
      formatScore(score),
    ]),
  ];
  if (summary.test) {
    rows.push([
      'sample test set (hidden truth)',
      `${formatScore(summary.test.score)}  public ${formatScore(summary.test.public)}  private ${formatScore(summary.test.private)}`,
    ]);
    for (const [name, score] of Object.entries(summary.testBaselines))
      rows.push([`sample test set, baseline: ${name}`, formatScore(score)]);
  }
  const width = Math.max(...rows.map(([name]) => name.length));
  const lines = [
    `${summary.competition}: ${summary.metric} (${summary.higherIsBetter ? 'higher' : 'lower'} is better)`,
    ...rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`),
  ];
  const tuned = Object.entries(summary.tuned)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  if (tuned) lines.push(`  tuned: ${tuned}`);
  lines.push(
    `  submission ${summary.submission}`,
    ...(summary.exportedModel ? [`  model ${summary.exportedModel} (what the competition took)`] : []),
    `  report ${summary.report}`,
    `  run ${summary.runDir} (${summary.runId === null ? 'not on the leaderboard' : `leaderboard id ${summary.runId}`})`,
    `  time ${summary.seconds.toFixed(1)} s`,
  );
  return lines.join('\n');
}

/** The flags `simkit run` and `simkit train` share. */
export interface RunFlags {
  readonly data?: string;
  readonly out?: string;
  readonly config?: string;
  readonly seed?: number;
  readonly epochs?: number;
  readonly resume?: boolean;
  readonly printConfig?: boolean;
  readonly strict?: boolean;
  readonly maxBadImages?: number;
}

export function withRunFlags(command: Command, help: { out: string; config: string }): Command {
  return command
    .option('--config <file>', help.config, pathFlag)
    .option('--data <dir>', "a directory in the competition's Kaggle layout (default: the embedded sample)", pathFlag)
    .option('--out <dir>', help.out, pathFlag)
    .option('--seed <n>', 'random seed (an integer ≥ 0)', numberFlag(SEED))
    .option(
      '--epochs <n>',
      'override the number of training epochs of every model of the run',
      numberFlag(POSITIVE_INTEGER),
    )
    .option('--resume', "continue training from the run's latest checkpoints (<out>/run/<model>/checkpoints)")
    .option('--strict', 'an unreadable image fails the run instead of being skipped (or replaced by a blank one)')
    .option(
      '--max-bad-images <share>',
      `largest share of images that may be missing or unreadable (default ${DEFAULT_MAX_BAD_IMAGES})`,
      numberFlag({ min: 0, max: 1 }),
    )
    .option('--print-config', 'print the effective config and exit');
}

export function registerRun(program: Command, context: CliContext): void {
  const command = program
    .command('run')
    .description('train, search, post-process and write a validated submission for a competition')
    .argument('<competition>', 'Kaggle slug or short name of a registered competition (simkit list competitions)');
  withRunFlags(command, {
    out: 'where the submission, run and sample go (default: output/<slug>)',
    config: 'JSON or YAML overriding the defaults (see --print-config)',
  })
    .option(
      '--folds <k>',
      'cross-validate over k folds of the train set, tune on the out-of-fold score (config: folds.count, folds.final)',
      numberFlag(POSITIVE_INTEGER),
    )
    .action(async (competition: string, options: RunFlags & { readonly folds?: number }) => {
      const app = await context.simkit();
      const run = {
        competition,
        data: options.data,
        out: options.out,
        config: options.config,
        seed: options.seed,
        resume: options.resume,
        strict: options.strict,
        maxBadImages: options.maxBadImages,
        epochs: options.epochs,
        folds: options.folds,
      };
      if (options.printConfig) {
        process.stdout.write(
          `${JSON.stringify(withComponentDefaults(app, await effectiveConfig(app, run)), null, 2)}\n`,
        );
        return;
      }
      await initEngine();
      const summary = await runCompetition(app, run);
      process.stdout.write(`${formatSummary(summary)}\n`);
      if (summary.leaderboardError) throw summary.leaderboardError;
    });
}
