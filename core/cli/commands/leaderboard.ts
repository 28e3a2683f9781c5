import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import type { CliContext } from '../context.js';
import { UserError } from '../../errors.js';
import { log } from '../../log.js';
import { LEADERBOARD_FORMATS, formatLeaderboard, type LeaderboardFormat } from '../../leaderboard/format.js';
import { Leaderboard, RANK_KEYS, defaultLeaderboardPath, type RankKey } from '../../leaderboard/leaderboard.js';
import { resolveScoringSpec } from '../../scoring/registration.js';

interface LeaderboardOptions {
  competition?: string;
  format: LeaderboardFormat;
  by: RankKey;
  db?: string;
  repair?: boolean;
}

export function registerLeaderboard(program: Command, context: CliContext): void {
  program
    .command('leaderboard')
    .description('show recorded runs, ranked per competition (respecting whether higher or lower is better)')
    .option('--competition <slug>', 'only this competition (Kaggle slug or alias)')
    .addOption(new Option('--format <format>', 'output format').choices(LEADERBOARD_FORMATS).default('table'))
    .addOption(new Option('--by <key>', 'score to rank by').choices(RANK_KEYS).default('score'))
    .option('--db <path>', 'leaderboard database (default SIMKIT_LEADERBOARD or .simkit/leaderboard.sqlite)')
    .option('--repair', 'move a damaged leaderboard aside and start a new one with every row that can still be read')
    .action(async (options: LeaderboardOptions) => {
      const path = options.db ?? defaultLeaderboardPath();
      if (options.repair) {
        const { salvaged, unreadable, movedTo } = Leaderboard.repair(path);
        log.info(
          `moved ${path} to ${movedTo}; the new leaderboard holds the ${salvaged} row(s) that could be ` +
            `read${unreadable > 0 ? ` (${unreadable} could not)` : ''}`,
        );
        return;
      }
      if (!existsSync(path))
        throw new UserError(
          `no leaderboard at ${path}`,
          'record a run first with `simkit score … --record`, or pass --db',
        );
      const competition = options.competition === undefined ? undefined : await slugOf(context, options.competition);
      const leaderboard = Leaderboard.open(path);
      try {
        const rows = leaderboard.list({ competition, by: options.by });
        if (competition !== undefined && rows.length === 0) {
          const recorded = [...new Set(leaderboard.list({ by: options.by }).map((row) => row.competition))].sort();
          throw new UserError(
            `no runs of "${options.competition}" on the leaderboard ${path}`,
            recorded.length > 0 ? `its competitions: ${recorded.join(', ')}` : 'it holds no runs yet',
            1,
          );
        }
        process.stdout.write(formatLeaderboard(rows, options.format));
      } finally {
        leaderboard.close();
      }
    });
}

/** An alias becomes its slug; a slug with no registered spec (e.g. its plugin is gone) is used as given. */
async function slugOf(context: CliContext, name: string): Promise<string> {
  try {
    return resolveScoringSpec(await context.simkit(), name).competition;
  } catch (error) {
    if (error instanceof UserError) return name;
    throw error;
  }
}
