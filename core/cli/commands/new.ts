import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SCAFFOLD_TASKS, scaffoldCompetition } from '../../scaffold/competition.js';

interface NewCompetitionOptions {
  readonly task: string;
  readonly metric?: string;
  readonly kaggleSlug?: string;
  readonly unknownLabel?: string;
  readonly root: string;
}

export function registerNew(program: Command, _context: CliContext): void {
  program
    .command('new')
    .description('scaffold a new component; for now: new competition <slug>')
    .command('competition')
    .argument('<slug>', 'kebab-case short name, e.g. my-products: the folder and `simkit run <slug>`')
    .option('--task <task>', `${SCAFFOLD_TASKS.join('|')}`, 'classify')
    .option(
      '--metric <name>',
      'map@5 | macro-f1 | top1-error (classify), gap (recognize), mean-f1 (match), map@100 (retrieve)',
    )
    .option('--kaggle-slug <slug>', "Kaggle's slug (the competition URL's last part), when it differs from <slug>")
    .option('--unknown-label <label>', 'the label of an item of no known class, e.g. new_whale (classify)')
    .option('--root <dir>', 'project root holding competitions/', '.')
    .action(async (slug: string, options: NewCompetitionOptions) => {
      const files = await scaffoldCompetition({ ...options, slug });
      process.stdout.write(
        `created:\n${files.map((f) => `  ${f}`).join('\n')}\nnext: npm run build && npx simkit run ${slug}   (its test runs with make test)\n`,
      );
    });
}
