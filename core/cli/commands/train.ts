import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { withComponentDefaults } from '../component-options.js';
import { initEngine } from '../../engine/backend.js';
import { UserError } from '../../errors.js';
import { effectiveConfig } from '../../pipeline/prepare.js';
import { readTrainFile, trainOnly, type TrainSummary } from '../../pipeline/train.js';
import { withRunFlags, type RunFlags } from './run.js';

export function formatTrainSummary(summary: TrainSummary): string {
  const lines: string[] = [];
  for (const model of summary.models) {
    const what = summary.models.length > 1 ? ` the ${model.name} model for` : '';
    lines.push(
      `${summary.competition}: trained${what} ${model.history.length} ` +
        `epoch(s)${model.resumedFrom === null ? '' : ` (resumed after epoch ${model.resumedFrom})`}`,
    );
    for (const record of model.history) {
      const metrics = Object.entries(record.validation ?? {})
        .map(([name, value]) => `  ${name} ${value.toFixed(4)}`)
        .join('');
      lines.push(`  epoch ${String(record.epoch).padStart(3)}  loss ${record.loss.toFixed(4)}${metrics}`);
    }
    if (model.stoppedEarly) lines.push(`  stopped early; kept epoch ${model.epoch}`);
    lines.push(`  model ${model.model}`, `  checkpoints ${model.checkpoints} (continue with --resume)`);
  }
  lines.push(`  report ${summary.report}`, `  time ${summary.seconds.toFixed(1)} s`);
  return lines.join('\n');
}

export function registerTrain(program: Command, context: CliContext): void {
  const command = program
    .command('train')
    .description(
      "train and validate the config's embedding models with per-epoch checkpoints (no search or submission)",
    )
    .argument('[competition]', 'Kaggle slug or short name (or `competition:` in the config file)');
  withRunFlags(command, {
    out: 'where the run goes (default: output/<slug>)',
    config: 'JSON or YAML: competition, data, out, seed, and overrides of the config (see --print-config)',
  }).action(async (name: string | undefined, options: RunFlags) => {
    const file = options.config ? await readTrainFile(options.config) : undefined;
    const competition = name ?? file?.competition;
    if (!competition)
      throw new UserError(
        'no competition given',
        'pass one (simkit train fashion-mnist) or set `competition:` in the config file',
      );
    const app = await context.simkit();
    const run = {
      competition,
      data: options.data ?? file?.data,
      out: options.out ?? file?.out,
      seed: options.seed ?? file?.seed,
      config: options.config,
      configOverrides: file?.overrides,
      resume: options.resume,
      strict: options.strict,
      maxBadImages: options.maxBadImages,
      epochs: options.epochs,
    };
    if (options.printConfig) {
      const config = withComponentDefaults(app, await effectiveConfig(app, run));
      process.stdout.write(`${JSON.stringify({ competition, ...config }, null, 2)}\n`);
      return;
    }
    await initEngine();
    process.stdout.write(`${formatTrainSummary(await trainOnly(app, run))}\n`);
  });
}
