import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SCAFFOLD_TASKS, scaffoldCompetition } from '../../scaffold/competition.js';

export function registerNew(program: Command, _context: CliContext): void {
  program
    .command('new')
    .description('scaffold a new component; for now: new competition <slug>')
    .command('competition')
    .argument('<slug>', 'kebab-case name, e.g. my-products')
    .option('--task <task>', `${SCAFFOLD_TASKS.join('|')}`, 'classify')
    .option(
      '--metric <name>',
      'map@5 | macro-f1 | top1-error (classify), gap (recognize), mean-f1 (match), map@100 (retrieve)',
    )
    .option('--root <dir>', 'project root holding competitions/', '.')
    .action(async (slug: string, options: { task: string; metric?: string; root: string }) => {
      const files = await scaffoldCompetition({ root: options.root, slug, task: options.task, metric: options.metric });
      process.stdout.write(
        `created:\n${files.map((f) => `  ${f}`).join('\n')}\nnext: npm run build && npx simkit run ${slug}   (its test runs with make test)\n`,
      );
    });
}
