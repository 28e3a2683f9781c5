import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { log } from '../../log.js';
import { writeReport } from '../../report/render.js';

export function registerReport(program: Command, _context: CliContext): void {
  program
    .command('report')
    .description(
      'write a self-contained HTML report of a run (curves, tuning, embedding projection, neighbour gallery)',
    )
    .argument('<run-dir>', 'a run directory holding report.json and log.jsonl (output/<slug>/run)')
    .option('--out <file>', 'where the page goes (default: <run-dir>/report.html)')
    .action(async (runDir: string, options: { out?: string }) => {
      const { path, problems } = await writeReport(runDir, options.out);
      for (const problem of problems) log.warn(problem);
      process.stdout.write(`${path}\n`);
    });
}
